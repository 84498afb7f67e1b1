package layout

import (
	"bufio"
	"iter"
	"slices"

	"github.com/ocilayout/ocilayout/layout/internal/indexjson"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// entryList is index.json's entries inside a transaction that has not
// needed them decoded (issue 15: at 100,000 entries decoding them all
// took most of a tag add's 0.24 s and 150 MiB). It is the scanned text
// (indexjson.Scan) with the transaction's changes beside it: an entry the
// transaction does not touch is never decoded, and is written back as the
// text it was read as; a changed or added one is encoded anew. Tag works
// on it with the same rules as applyTag, on the fields Scan found (name,
// digest, subject, subject root); anything else decodes the whole list
// once (IndexTx.full) and goes on as before.
//
// Positions are those of the entries as read, then those added; an entry
// dropped keeps its position (dead), so lookups stay valid, and is left
// out when the list is written or decoded.
type entryList struct {
	s        *indexjson.Scanned
	changed  []*imgspecv1.Descriptor // by position: the entry now, nil if as read; grown on the first change
	dead     []bool                  // by position; grown on the first drop
	n        int                     // positions: len(s.Entries) + added
	lookups  int                     // linear lookups so far; past linearLookups, the maps below are built
	names    *chains                 // name -> positions that held it
	digests  *chains                 // digest -> positions that held it
	untagged *chains                 // digest -> positions that held it with no name
	refs     []int                   // positions that held a subject or subject root; nil until asked
	holders  holders                 // digest -> its first image entry, for Holder (holders.go)
	viewed   []imgspecv1.Descriptor  // what Entries returned, kept up to date until an entry is dropped
	viewAt   []int                   // position -> index in viewed (-1: dead), when some were dead; nil: the same
}

// linearLookups is how many lookups of a name or digest a transaction does
// by walking the entries before it indexes them: one tag add need not pay
// for the maps (100,000 inserts), a batch of thousands stays linear.
const linearLookups = 8

func newEntryList(s *indexjson.Scanned) *entryList {
	return &entryList{s: s, n: len(s.Entries)}
}

// get returns the changed entry at i, or nil when i is as read.
func (l *entryList) get(i int) *imgspecv1.Descriptor {
	if i < len(l.changed) {
		return l.changed[i]
	}
	return nil
}

func (l *entryList) live(i int) bool { return i >= len(l.dead) || !l.dead[i] }

// name, digest and subjects return the fields Tag looks entries up by.
func (l *entryList) name(i int) string {
	if d := l.get(i); d != nil {
		return entryName(*d)
	}
	return l.s.Str(l.s.Entries[i].Name)
}

func (l *entryList) digest(i int) string {
	if d := l.get(i); d != nil {
		return string(d.Digest)
	}
	return l.s.Str(l.s.Entries[i].Digest)
}

func (l *entryList) subjects(i int) (subject, root string) {
	if d := l.get(i); d != nil {
		return d.Annotations[AnnotationSubject], d.Annotations[AnnotationSubjectRoot]
	}
	e := l.s.Entries[i]
	return l.s.Str(e.Subject), l.s.Str(e.SubjectRoot)
}

// descriptor returns the entry at i, decoding it if it is as read.
func (l *entryList) descriptor(i int) imgspecv1.Descriptor {
	if d := l.get(i); d != nil {
		return *d
	}
	return l.s.Entry(i)
}

// set makes d the entry at i (i == l.n adds it).
func (l *entryList) set(i int, d *imgspecv1.Descriptor) {
	oldName, oldDigest, oldUntagged := "", "", ""
	if i < l.n {
		oldName, oldDigest, oldUntagged = l.name(i), l.digest(i), l.untaggedDigest(i)
		l.holderLeaves(i)
	} else {
		l.n++
	}
	if len(l.changed) < l.n {
		l.changed = append(l.changed, make([]*imgspecv1.Descriptor, l.n-len(l.changed))...)
	}
	l.changed[i] = d
	l.holderArrives(i, d)
	if name := entryName(*d); l.names != nil && name != oldName {
		l.names.add(name, i)
	}
	if l.digests != nil && string(d.Digest) != oldDigest {
		l.digests.add(string(d.Digest), i)
	}
	if u := l.untaggedDigest(i); l.untagged != nil && u != oldUntagged {
		l.untagged.add(u, i)
	}
	if s, r := d.Annotations[AnnotationSubject], d.Annotations[AnnotationSubjectRoot]; l.refs != nil && (s != "" || r != "") {
		l.refs = append(l.refs, i)
	}
	l.updateView(i, d)
}

// updateView keeps what Entries returned up to date with set(i, d), so
// that a caller alternating Entries and Tag (sync's batches) does not
// decode the list again each time.
func (l *entryList) updateView(i int, d *imgspecv1.Descriptor) {
	if l.viewed == nil {
		return
	}
	v := i // no entry was dead when viewed was made: the same positions
	if l.viewAt != nil {
		if i == len(l.viewAt) {
			l.viewAt = append(l.viewAt, len(l.viewed))
		}
		v = l.viewAt[i]
	}
	if v == len(l.viewed) {
		l.viewed = append(l.viewed, *d)
	} else {
		l.viewed[v] = *d
	}
}

// drop marks the entry at i dead.
func (l *entryList) drop(i int) {
	l.holderLeaves(i)
	if len(l.dead) < l.n {
		l.dead = append(l.dead, make([]bool, l.n-len(l.dead))...)
	}
	l.dead[i] = true
	l.viewed, l.viewAt = nil, nil // the entries after i move up
}

// find returns, in order, the live positions whose key (name or digest) is
// key; only the first one found when first is set. is, when not nil, is
// keyOf(i) == key done faster, for the walk of every entry.
func (l *entryList) find(c **chains, key string, keyOf func(int) string, is func(int) bool, first bool) []int {
	var out []int
	if *c == nil && l.lookups < linearLookups {
		l.lookups++
		if is == nil {
			is = func(i int) bool { return keyOf(i) == key }
		}
		for i := range l.n {
			if is(i) && l.live(i) {
				out = append(out, i)
				if first {
					break
				}
			}
		}
		return out
	}
	if *c == nil {
		*c = newChains(l.n)
		for i := range l.n {
			(*c).add(keyOf(i), i)
		}
	}
	for i := range (*c).each(key) {
		if l.live(i) && keyOf(i) == key {
			out = append(out, i)
			if first {
				return out
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out) // a position that left the key and came back is listed twice
}

func (l *entryList) named(name string) []int {
	key := indexjson.NameKey(name)
	return l.find(&l.names, name, l.name, func(i int) bool { return l.nameIs(i, name, key) }, false)
}

// nameIs is l.name(i) == name, for key = indexjson.NameKey(name): an
// entry as read is compared by the key Scan took first, which spares
// reading its name from the text.
func (l *entryList) nameIs(i int, name string, key uint32) bool {
	if d := l.get(i); d != nil {
		return entryName(*d) == name
	}
	e := &l.s.Entries[i]
	return e.NameKey == key && l.s.Str(e.Name) == name
}

// hasDigest reports whether a live entry has digest d.
func (l *entryList) hasDigest(d string) bool {
	return len(l.find(&l.digests, d, l.digest, nil, true)) > 0
}

// untaggedWith returns the live positions of untagged entries of digest d.
// (All of a layout's tags may share one digest: a lookup of every entry
// of d would make each tag add walk them all.)
func (l *entryList) untaggedWith(d string) []int {
	return l.find(&l.untagged, d, l.untaggedDigest, nil, false)
}

// untaggedDigest is the key of untagged: the digest of an untagged entry,
// "" for a tagged one.
func (l *entryList) untaggedDigest(i int) string {
	if l.name(i) != "" {
		return ""
	}
	return l.digest(i)
}

// referrerPositions returns the live positions holding a subject or a
// subject root annotation, in order.
func (l *entryList) referrerPositions() []int {
	if l.refs == nil {
		l.refs = []int{}
		for i := range l.n {
			if s, r := l.subjects(i); s != "" || r != "" {
				l.refs = append(l.refs, i)
			}
		}
	}
	out := make([]int, 0, len(l.refs))
	for _, i := range l.refs {
		if s, r := l.subjects(i); l.live(i) && (s != "" || r != "") {
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// referrers is referrersOf the entries.
func (l *entryList) referrers() referrerSets {
	sets := referrerSets{}
	for _, i := range l.referrerPositions() {
		s, _ := l.subjects(i)
		sets.add(s, l.name(i), l.digest(i))
	}
	return sets
}

// tag is applyTag on the list: the same rules, the same result, and the
// same digests returned: those of the entries it dropped, whose referrers
// the transaction then looks for.
func (l *entryList) tag(desc imgspecv1.Descriptor, name string) []imgspecv1.Descriptor {
	desc.Annotations = cloneMap(desc.Annotations)
	if name == "" {
		delete(desc.Annotations, imgspecv1.AnnotationRefName)
		if !l.hasDigest(string(desc.Digest)) {
			l.set(l.n, &desc)
		}
		return nil
	}
	if desc.Annotations == nil {
		desc.Annotations = map[string]string{}
	}
	desc.Annotations[imgspecv1.AnnotationRefName] = name
	// The entries applyTag replaces: those holding the name, and the
	// untagged ones of this digest; the first is replaced in place.
	held := l.named(name)
	held = append(held, l.untaggedWith(string(desc.Digest))...)
	if len(held) == 0 {
		l.set(l.n, &desc)
		return nil
	}
	slices.Sort(held)
	var dropped []imgspecv1.Descriptor
	for _, i := range held {
		if d := l.digest(i); d != string(desc.Digest) {
			dropped = append(dropped, l.descriptor(i))
		}
	}
	for _, i := range held[1:] {
		l.drop(i)
	}
	l.set(held[0], &desc)
	return dropped
}

// entries yields the live entries in order: the text of each as read, or
// the entry it was changed to.
//
// Entries as read that follow one another in the text, separated by a
// bare comma, come as one raw run: a tag add into 100,000 entries then
// writes two or three strings, which go to the file without being copied
// through the writers' buffers (limitedWriter.WriteString).
func (l *entryList) entries(yield func(string, *imgspecv1.Descriptor) bool) {
	for i := 0; i < l.n; i++ {
		if !l.live(i) {
			continue
		}
		if d := l.get(i); d != nil {
			if !yield("", d) {
				return
			}
			continue
		}
		start, end := l.s.Entries[i].Start, l.s.Entries[i].End
		for i+1 < len(l.s.Entries) && l.live(i+1) && l.get(i+1) == nil {
			next := l.s.Entries[i+1]
			if next.Start != end+1 { // one byte between entries: the comma
				break
			}
			end = next.End
			i++
		}
		if !yield(l.s.Text[start:end], nil) {
			return
		}
	}
}

// encode writes the list as index.json.
func (l *entryList) encode(w *bufio.Writer) error {
	return indexjson.Splice(w, &l.s.Head, l.entries)
}

// view returns the live entries decoded, for IndexTx.Entries.
func (l *entryList) view() []imgspecv1.Descriptor {
	if l.viewed == nil {
		l.viewed = l.decodeAll()
		if len(l.dead) > 0 {
			l.viewAt = make([]int, l.n)
			v := 0
			for i := range l.n {
				l.viewAt[i] = -1
				if l.live(i) {
					l.viewAt[i] = v
					v++
				}
			}
		}
	}
	return l.viewed
}

// index returns the list decoded whole, for IndexTx.full.
func (l *entryList) index() *imgspecv1.Index {
	idx := l.s.Head
	idx.Manifests = l.decodeAll()
	return &idx
}

// decodeAll decodes the live entries, in order.
func (l *entryList) decodeAll() []imgspecv1.Descriptor {
	out := make([]imgspecv1.Descriptor, 0, l.n)
	for i := range l.n {
		if l.live(i) {
			out = append(out, l.descriptor(i))
		}
	}
	return out
}

// chains maps a key to the positions that held it, as linked lists in one
// slice (a position can hold several names over a transaction, so it
// cannot own one "next" slot). Positions are never unlinked: lookups check
// that a position still holds the key.
type chains struct {
	head map[string]int32 // key -> its last node
	node []chainNode
}

type chainNode struct{ pos, next int32 }

func newChains(n int) *chains {
	return &chains{head: make(map[string]int32, n), node: make([]chainNode, 0, n)}
}

func (c *chains) add(key string, pos int) {
	next, ok := c.head[key]
	if !ok {
		next = -1
	}
	c.node = append(c.node, chainNode{pos: int32(pos), next: next})
	c.head[key] = int32(len(c.node) - 1)
}

// each yields the positions key was added with, last first.
func (c *chains) each(key string) iter.Seq[int] {
	return func(yield func(int) bool) {
		n, ok := c.head[key]
		for ok && n >= 0 {
			if !yield(int(c.node[n].pos)) {
				return
			}
			n = c.node[n].next
		}
	}
}
