package layout

import (
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// dropScanned is Delete's change on a transaction whose entries are
// still the scanned text (IndexTx.list, untouched): it drops the entries
// sel selects by name, by position or by a digest some entry of
// index.json has, and returns them, decoding those alone, with ok true,
// when no entry left can be a referrer (mayBeReferrer), so that no
// referrer is left without its subject. Otherwise, and for the other
// selectors, it changes nothing and returns ok false: Delete then decodes
// the index, as it always did. At 100,000 entries the decode was most of
// a delete's time and memory (0.41 s, 125 MiB).
func (tx *IndexTx) dropScanned(sel Selector) (removed []imgspecv1.Descriptor, ok bool) {
	l := tx.list
	if l == nil || len(l.changed) > 0 || len(l.dead) > 0 {
		return nil, false
	}
	var drop []int
	switch sel.kind {
	case selectName:
		drop = l.named(sel.name)
	case selectIndex:
		if sel.index < l.n {
			drop = []int{sel.index}
		}
	case selectDigest:
		drop = l.find(&l.digests, string(sel.digest), l.digest, nil, false)
	}
	if len(drop) == 0 {
		return nil, false // not found, or not a selector for here: the full path says why
	}
	dropped := make(map[int]bool, len(drop))
	for _, i := range drop {
		dropped[i] = true
	}
	for i := range l.n {
		if dropped[i] {
			continue
		}
		subject, root := l.subjects(i)
		if mayBeReferrer(l.name(i), subject, root) {
			return nil, false
		}
	}
	for _, i := range drop {
		// Detached: the removed entries outlive the transaction (Delete's
		// result, gc's candidates), and a substring would keep the whole
		// text alive beside the one gc reads next.
		removed = append(removed, l.s.Detached(i))
		l.drop(i)
	}
	return removed, true
}
