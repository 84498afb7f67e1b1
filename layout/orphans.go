package layout

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Which index.json entries are referrers, and when they leave.
//
// An entry is a referrer of subject S when
//
//   - it carries AnnotationSubject S (what this module, and our copies of
//     other tools' referrers, write);
//   - it is named with a cosign attachment tag "ALG-HEX.sig", ".att" or
//     ".sbom", whose S is ALG:HEX (cosign's tag scheme);
//   - it is named with S's referrers fallback tag "ALG-HEX" and is an index
//     another tool could have written as a list of referrers
//     (fallbackTagList: regclient's ocidir, oras); the referrers it lists
//     live as long as it does;
//   - it is untagged, unmarked, a manifest or an index, and its content
//     names S as its "subject" (oras attach --oci-layout, notation).
//
// Every other entry is an image, and is never dropped: an entry with a name
// of the user's (one that is not a fallback or cosign tag), or an untagged
// image without subject. A referrer is live when its subject is: an
// image's digest, a manifest inside a live index, or a live referrer (a
// signature of an SBOM lives as long as the SBOM). Delete and GC drop every
// referrer that is not live; a tag move and IndexTx.Remove drop, in the same
// transaction, the referrers of what they removed, then theirs, to a
// fixpoint, checked against that same liveness (a subject still inside
// another index keeps its referrers).
//
// So a cosign tag whose image is not in the layout leaves at the next gc,
// like any referrer without subject: also one copied without its image,
// or whose image changed digest on the way in (a Docker schema2 image copy
// converts to OCI); copy --referrers carries both under their digests.

// referrerRole is what one index.json entry is to the referrer graph.
type referrerRole struct {
	subject digest.Digest // "": an image (a root of liveness)
	root    digest.Digest // AnnotationSubjectRoot: the index an instance's referrer was committed with
	tag     bool          // a fallback tag: it hosts the referrers it lists
	confirm bool          // an unmarked fallback tag: fallbackTagList must still say it is one
}

// cosignSuffixes are the tags cosign gives a subject's signature,
// attestation and SBOM.
var cosignSuffixes = []string{".sig", ".att", ".sbom"}

// tagSubject is the subject a fallback tag ("ALG-HEX") or a cosign tag
// ("ALG-HEX.sig") names, with cosign true for the latter.
func tagSubject(name string) (subject digest.Digest, cosign, ok bool) {
	base := name
	for _, s := range cosignSuffixes {
		if b, found := strings.CutSuffix(name, s); found {
			base, cosign = b, true
			break
		}
	}
	alg, hex, found := strings.Cut(base, "-")
	if !found {
		return "", false, false
	}
	d := digest.NewDigestFromEncoded(digest.Algorithm(alg), hex)
	if d.Validate() != nil {
		return "", false, false
	}
	return d, cosign, true
}

// mayBeReferrer reports whether an entry with this name, AnnotationSubject
// and AnnotationSubjectRoot could be a referrer: one that is marked, or
// untagged (cheapRole reads its content), or named like a fallback or
// cosign tag ("ALG-HEX[.sig]"). When it cannot, cheapRole calls it an
// image without reading anything, so a layout of such entries has no
// orphan to look for (gc's and Delete's scanned paths).
func mayBeReferrer(name, subject, root string) bool {
	_, _, tagLike := tagSubject(name)
	return name == "" || tagLike || subject != "" || root != ""
}

// cheapRole says what e is from index.json alone. An untagged unmarked
// manifest's subject is read from its content (remembered per digest); an
// unmarked fallback tag is left to confirm.
func (l *Layout) cheapRole(ctx context.Context, e imgspecv1.Descriptor) referrerRole {
	name := entryName(e)
	if s := e.Annotations[AnnotationSubject]; s != "" {
		return referrerRole{subject: digest.Digest(s), root: digest.Digest(e.Annotations[AnnotationSubjectRoot]), tag: name != "" && name == referrersTag(digest.Digest(s))}
	}
	if name != "" {
		s, cosign, ok := tagSubject(name)
		switch {
		case !ok:
			return referrerRole{}
		case cosign:
			return referrerRole{subject: s}
		case isIndexMediaType(e.MediaType):
			return referrerRole{subject: s, tag: true, confirm: true}
		}
		return referrerRole{}
	}
	return referrerRole{subject: l.contentSubject(ctx, e)}
}

// confirmed settles an unmarked fallback tag: a referrer list, or a user's
// image that has the name.
func (l *Layout) confirmed(ctx context.Context, e imgspecv1.Descriptor, r referrerRole) referrerRole {
	if !r.confirm {
		return r
	}
	if _, ok, err := l.fallbackTagList(ctx, e, r.subject); err != nil || !ok {
		return referrerRole{}
	}
	r.confirm = false
	return r
}

// listed returns what the fallback tag e lists; nothing if it cannot be read.
func (l *Layout) listed(ctx context.Context, e imgspecv1.Descriptor) []digest.Digest {
	list, err := l.readIndexBlob(ctx, e)
	if err != nil {
		return nil
	}
	out := make([]digest.Digest, 0, len(list.Manifests))
	for _, d := range list.Manifests {
		out = append(out, d.Digest)
	}
	return out
}

// contentSubjects remembers, per manifest digest, the subject its content
// names ("" for none): a content-addressed fact, so a process reads an
// untagged entry's manifest once however many transactions look at it.
var contentSubjects = struct {
	sync.Mutex
	m map[digest.Digest]digest.Digest
}{m: map[digest.Digest]digest.Digest{}}

const contentSubjectsMax = 100_000

// contentSubject is the subject the content of the untagged, unmarked
// entry e names, or "" when it names none, is no manifest or index, or
// cannot be read (then it is kept as an image: dropping a live referrer is
// worse than keeping a dead one).
func (l *Layout) contentSubject(ctx context.Context, e imgspecv1.Descriptor) digest.Digest {
	if !(isWalkable(e.MediaType) || isIndexMediaType(e.MediaType)) || e.Size > maxManifestSize || validDescriptor(e) != nil {
		return ""
	}
	contentSubjects.Lock()
	s, ok := contentSubjects.m[e.Digest]
	contentSubjects.Unlock()
	if ok {
		return s
	}
	data, err := l.ReadBlob(ctx, e.Digest, e.Size)
	if err != nil {
		return ""
	}
	var doc struct {
		Subject *imgspecv1.Descriptor `json:"subject"`
	}
	if json.Unmarshal(data, &doc) == nil && doc.Subject != nil && doc.Subject.Digest.Validate() == nil {
		s = doc.Subject.Digest
	}
	contentSubjects.Lock()
	if len(contentSubjects.m) >= contentSubjectsMax {
		clear(contentSubjects.m)
	}
	contentSubjects.m[e.Digest] = s
	contentSubjects.Unlock()
	return s
}

// indexChildrenOf remembers, per index digest, the manifests it lists (a
// content-addressed fact, read verified once): a tag move that drops a
// signed image checks liveness across every index of the layout, and a
// sync does that once per commit.
var indexChildrenOf = struct {
	sync.Mutex
	m map[digest.Digest][]imgspecv1.Descriptor
}{m: map[digest.Digest][]imgspecv1.Descriptor{}}

const indexChildrenMax = 100_000

// indexChildren returns what d lists when it is an index (nil for a
// manifest or a leaf), reading it at most once per process. An index that
// cannot be read is an error: what it holds is unknown.
func (l *Layout) indexChildren(ctx context.Context, d imgspecv1.Descriptor) ([]imgspecv1.Descriptor, error) {
	indexChildrenOf.Lock()
	children, ok := indexChildrenOf.m[d.Digest]
	indexChildrenOf.Unlock()
	if ok {
		return children, nil
	}
	kind, data, err := l.classify(ctx, d)
	if err != nil {
		return nil, err
	}
	if kind != indexNode {
		return nil, nil // not remembered: the kind may depend on the descriptor's media type
	}
	idx, err := l.readIndexData(ctx, d, data)
	if err != nil {
		return nil, err
	}
	children = make([]imgspecv1.Descriptor, len(idx.Manifests))
	for i, c := range idx.Manifests {
		children[i] = imgspecv1.Descriptor{MediaType: c.MediaType, Digest: c.Digest, Size: c.Size}
	}
	indexChildrenOf.Lock()
	if len(indexChildrenOf.m) >= indexChildrenMax {
		clear(indexChildrenOf.m)
	}
	indexChildrenOf.m[d.Digest] = children
	indexChildrenOf.Unlock()
	return children, nil
}

// orphanReferrers returns the positions in entries of the referrers that
// are not live (see the rules above). Only indexes, fallback tags and
// untagged unmarked manifests are read, never a tagged image's manifest.
// If an image's index cannot be read the answer is unknown and an error is
// returned: callers then drop nothing.
func (l *Layout) orphanReferrers(ctx context.Context, entries []imgspecv1.Descriptor) (map[int]bool, error) {
	roles := make([]referrerRole, len(entries))
	some := false
	for i, e := range entries {
		roles[i] = l.confirmed(ctx, e, l.cheapRole(ctx, e))
		some = some || roles[i].subject != ""
	}
	if !some {
		return nil, nil
	}
	live := make(map[digest.Digest]bool, len(entries))
	var indexes []imgspecv1.Descriptor
	for i, e := range entries {
		if roles[i].subject != "" {
			continue
		}
		live[e.Digest] = true
		// A manifest (by its media type) holds no manifest: not followed.
		if kindOfType(e.MediaType) != manifestNode && validDescriptor(e) == nil {
			indexes = append(indexes, e)
		}
	}
	for len(indexes) > 0 {
		d := indexes[0]
		indexes = indexes[1:]
		children, err := l.indexChildren(ctx, d)
		if err != nil {
			return nil, fmt.Errorf("finding referrers without subject: %w", err)
		}
		for _, c := range children {
			if !live[c.Digest] && kindOfType(c.MediaType) != manifestNode && validDescriptor(c) == nil {
				indexes = append(indexes, c)
			}
			live[c.Digest] = true
		}
	}
	alive := make([]bool, len(entries))
	for changed := true; changed; {
		changed = false
		for i, e := range entries {
			if r := roles[i]; r.subject != "" && !alive[i] && live[r.subject] {
				alive[i], live[e.Digest], changed = true, true, true
				if r.tag {
					for _, d := range l.listed(ctx, e) {
						live[d] = true
					}
				}
			}
		}
	}
	orphans := map[int]bool{}
	for i := range entries {
		if roles[i].subject != "" && !alive[i] {
			orphans[i] = true
		}
	}
	return orphans, nil
}

// dropOrphansOf drops, from the transaction's entries, the referrers that
// removing the entries of gone left without subject, then the referrers of
// those, to a fixpoint: a signature of an SBOM goes with the image in the
// same transaction. The instances of a removed index count as removed
// with it. An instance's referrer committed with a removed index
// (AnnotationSubjectRoot) goes with it; any other goes only if the
// layout-wide liveness agrees that its subject is gone, and none goes if
// that cannot be known (an index that cannot be read): GC decides later.
//
// It runs on every Tag, so it costs one pass over the entries when
// nothing left, and finds tag referrers by the names the subjects that
// left would give them, not by parsing every name.
func (tx *IndexTx) dropOrphansOf(gone []imgspecv1.Descriptor) {
	if len(gone) == 0 {
		return
	}
	entries := tx.idx.Manifests
	present := make(map[digest.Digest]bool, len(entries))
	for _, e := range entries {
		present[e.Digest] = true
	}
	left := map[digest.Digest]bool{}
	names := map[string]digest.Digest{} // the fallback and cosign tags of what left
	leave := func(d digest.Digest) {
		if present[d] || left[d] {
			return
		}
		left[d] = true
		if d.Validate() != nil {
			return
		}
		names[referrersTag(d)] = d
		for _, s := range cosignSuffixes {
			names[referrersTag(d)+s] = d
		}
	}
	for _, d := range gone {
		leave(d.Digest)
	}
	if len(left) == 0 {
		return
	}
	ctx, l := tx.ctx, tx.l
	for _, d := range gone {
		if !left[d.Digest] {
			continue
		}
		// The instances of an index that left leave with it (cosign sign
		// --recursive tags each one), unless the liveness check below
		// finds them elsewhere; an index that cannot be read keeps them.
		children, err := l.indexChildren(ctx, d)
		if err != nil {
			continue
		}
		for _, c := range children {
			leave(c.Digest)
		}
	}
	roleOf := func(e imgspecv1.Descriptor) (referrerRole, bool) {
		name := entryName(e)
		switch {
		case e.Annotations[AnnotationSubject] != "":
			return l.cheapRole(ctx, e), true
		case name == "":
			return referrerRole{subject: l.contentSubject(ctx, e)}, true
		}
		if _, ok := names[name]; ok {
			return l.cheapRole(ctx, e), true
		}
		return referrerRole{}, false // a name no subject that left gives
	}
	dropped := map[int]bool{}
	byRoot := map[int]bool{}
	for {
		var fresh []int
		for i, e := range entries {
			if dropped[i] {
				continue
			}
			r, ok := roleOf(e)
			if !ok || r.subject == "" {
				continue
			}
			switch {
			case r.root != "" && left[r.root]:
				byRoot[i] = true
			case left[r.subject]:
				if r = l.confirmed(ctx, e, r); r.subject == "" {
					continue
				}
			default:
				continue
			}
			dropped[i] = true
			fresh = append(fresh, i)
		}
		if len(fresh) == 0 {
			break
		}
		present = make(map[digest.Digest]bool, len(entries))
		for i, e := range entries {
			if !dropped[i] {
				present[e.Digest] = true
			}
		}
		for _, i := range fresh {
			leave(entries[i].Digest)
			if r, _ := roleOf(entries[i]); r.tag {
				for _, d := range l.listed(ctx, entries[i]) {
					leave(d)
				}
			}
		}
	}
	if len(dropped) == 0 {
		return
	}
	if len(dropped) > len(byRoot) {
		// Those dropped by subject go only if the layout agrees that the
		// subject is gone (it may be inside another index).
		rest, _ := removeEntries(entries, byRoot)
		orphans, err := l.orphanReferrers(ctx, rest)
		j := 0
		for i := range entries {
			if byRoot[i] {
				continue
			}
			if dropped[i] && (err != nil || !orphans[j]) {
				delete(dropped, i)
			}
			j++
		}
	}
	tx.idx.Manifests, _ = removeEntries(entries, dropped)
}
