package layout

import (
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Holder returns the first entry, in the order of index.json as the
// transaction stands, that holds the manifest d and is no referrer (has
// no AnnotationSubject): the entry whose media type, size and platform
// naming d again records (a sync naming an image the layout already
// holds). It decodes that entry alone: a first sync of 100,000 names of
// one image asks once a name, and decoding every entry for each batch of
// them was half its time and most of its memory.
func (tx *IndexTx) Holder(d digest.Digest) (imgspecv1.Descriptor, bool) {
	if tx.list != nil {
		i := tx.list.holder(string(d))
		if i < 0 {
			return imgspecv1.Descriptor{}, false
		}
		return tx.list.descriptor(i), true
	}
	for _, e := range tx.idx.Manifests {
		if e.Digest == d && e.Annotations[AnnotationSubject] == "" {
			return e, true
		}
	}
	return imgspecv1.Descriptor{}, false
}

// holders is, for entryList.holder, the first live position of an entry
// that holds each digest and is no referrer, built on the first lookup
// from the scanned fields (no entry decoded) and kept up to date by set
// and drop. A digest whose first holder changed in place or was dropped
// is stale until asked again: the next holder can be anywhere after it,
// so it is found by a walk then, not at every change.
type holders struct {
	first map[string]int32
	stale map[string]bool
}

// holder returns the position of the first live entry that holds digest
// d and is no referrer, or -1.
func (l *entryList) holder(d string) int {
	h := &l.holders
	if h.first == nil {
		h.first, h.stale = map[string]int32{}, map[string]bool{}
		for i := range l.n {
			if dg := l.digest(i); l.live(i) && !l.isReferrer(i) {
				if _, ok := h.first[dg]; !ok {
					h.first[dg] = int32(i)
				}
			}
		}
	}
	if h.stale[d] {
		delete(h.stale, d)
		delete(h.first, d)
		for i := range l.n {
			if l.live(i) && !l.isReferrer(i) && l.digest(i) == d {
				h.first[d] = int32(i)
				break
			}
		}
	}
	if i, ok := h.first[d]; ok {
		return int(i)
	}
	return -1
}

// isReferrer reports whether the entry at i has an AnnotationSubject.
func (l *entryList) isReferrer(i int) bool {
	s, _ := l.subjects(i)
	return s != ""
}

// holderLeaves records, before the entry at i changes or is dropped, that
// it may no longer hold its digest.
func (l *entryList) holderLeaves(i int) {
	h := &l.holders
	if h.first == nil || i >= l.n {
		return
	}
	if cur, ok := h.first[l.digest(i)]; ok && cur == int32(i) {
		h.stale[l.digest(i)] = true
	}
}

// holderArrives records that the entry at i now is d.
func (l *entryList) holderArrives(i int, d *imgspecv1.Descriptor) {
	h := &l.holders
	if h.first == nil || d.Annotations[AnnotationSubject] != "" || h.stale[string(d.Digest)] {
		return
	}
	if cur, ok := h.first[string(d.Digest)]; !ok || int32(i) < cur {
		h.first[string(d.Digest)] = int32(i)
	}
}
