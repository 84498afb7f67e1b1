package layout

import (
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// tagIndex lets IndexTx.Tag find the entry holding a name, and the
// nameless entry of a digest, without scanning every entry: a batch of
// many tags into an index of 100,000 entries otherwise costs a scan of
// all of them per tag (34 ms each here, so a first sync naming 100,000
// tags spent most of its time in applyTag). It is built at the first Tag
// of a transaction and kept true by the fast path below, which only
// appends or replaces an entry in place; any other change of the entries
// (Remove, AddReferrers, a tag move that drops entries, a case the fast
// path leaves to applyTag) drops it, and the next Tag builds it again.
type tagIndex struct {
	names    map[string]int        // name → position of the entry holding it
	nameless map[digest.Digest]int // digest → position of its entry without name
	// Names and digests held by more than one entry (another tool's
	// index): applyTag's scan decides for them.
	dupNames    map[string]bool
	dupNameless map[digest.Digest]bool
}

func newTagIndex(entries []imgspecv1.Descriptor) *tagIndex {
	t := &tagIndex{names: make(map[string]int, len(entries)), nameless: map[digest.Digest]int{},
		dupNames: map[string]bool{}, dupNameless: map[digest.Digest]bool{}}
	for i, e := range entries {
		if name := entryName(e); name != "" {
			if _, ok := t.names[name]; ok {
				t.dupNames[name] = true
			} else {
				t.names[name] = i
			}
			continue
		}
		if _, ok := t.nameless[e.Digest]; ok {
			t.dupNameless[e.Digest] = true
		} else {
			t.nameless[e.Digest] = i
		}
	}
	return t
}

// tag is applyTag(tx.idx, desc, name) with the same result, in constant
// time for the common cases: a new name (appended), a name moved in place,
// a nameless entry of the digest given the name.
func (tx *IndexTx) tag(desc imgspecv1.Descriptor, name string) {
	if tx.tags == nil {
		tx.tags = newTagIndex(tx.idx.Manifests)
	}
	t := tx.tags
	if name == "" || t.dupNames[name] || t.dupNameless[desc.Digest] {
		n := len(tx.idx.Manifests)
		tx.dropOrphansOf(applyTag(tx.idx, desc, name))
		switch {
		case name == "" && len(tx.idx.Manifests) == n+1: // appended, nothing moved
			t.nameless[desc.Digest] = n
		case name != "":
			tx.tags = nil
		}
		return
	}
	i, named := t.names[name]
	j, nameless := t.nameless[desc.Digest]
	if named && nameless {
		tx.dropOrphansOf(applyTag(tx.idx, desc, name)) // one replaced, the other removed: positions move
		tx.tags = nil
		return
	}
	desc.Annotations = cloneMap(desc.Annotations)
	if desc.Annotations == nil {
		desc.Annotations = map[string]string{}
	}
	desc.Annotations[imgspecv1.AnnotationRefName] = name
	switch {
	case named:
		old := tx.idx.Manifests[i]
		tx.idx.Manifests[i] = desc
		if old.Digest != desc.Digest {
			n := len(tx.idx.Manifests)
			tx.dropOrphansOf([]imgspecv1.Descriptor{old})
			if len(tx.idx.Manifests) != n {
				tx.tags = nil
			}
		}
	case nameless:
		tx.idx.Manifests[j] = desc
		delete(t.nameless, desc.Digest)
		t.names[name] = j
	default:
		tx.idx.Manifests = append(tx.idx.Manifests, desc)
		t.names[name] = len(tx.idx.Manifests) - 1
	}
}
