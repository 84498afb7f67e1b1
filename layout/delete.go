package layout

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// DeleteResult says what Delete removed.
type DeleteResult struct {
	// Entries are the index.json entries removed: the selected image and
	// the referrers (signatures, SBOMs, ...) left without a subject.
	Entries []imgspecv1.Descriptor `json:"entries"`
	// Reclaimed is what the blob collection removed; nil when the layout
	// uses a shared blob directory, whose blobs are never removed.
	Reclaimed *GCResult `json:"reclaimed"`
}

// Delete removes what sel selects from index.json, then reclaims its blobs.
//
//   - By name: the entry with that name. The same manifest under another
//     name stays, and so do its blobs.
//   - By @N: the entry at position N.
//   - By @digest: every top-level entry with that digest, whatever its
//     name. A manifest that is only inside an index (one platform of a
//     multi-arch image) is refused: deleting it would mean rewriting the
//     index, and so its digest, which is not a delete.
//   - The zero selector: the only image, as Resolve chooses it.
//
// Referrers whose subject is no longer reachable go with it, whichever
// tool wrote them, and the referrers of those (see orphans.go for what
// counts as a referrer). The order is what makes a crash harmless: index.json is
// updated first, under the index lock, so a crash afterwards leaves only
// unreferenced blobs (GC reclaims them), never an entry naming a missing
// blob. Blobs are then reclaimed as GC does, under the exclusive write
// lease (so Delete waits for in-flight writers): of the deleted entries'
// blobs, those no remaining entry reaches. With a shared blob directory no
// blob is removed, because other layouts may use it (see GC).
func (l *Layout) Delete(ctx context.Context, sel Selector) (*DeleteResult, error) {
	dir := l.dir
	ctx = withRepairLimit(ctx) // delete must be able to shrink an oversized index.json
	res := &DeleteResult{Entries: []imgspecv1.Descriptor{}}
	var candidates map[digest.Digest]bool
	update := func(tx *IndexTx) error {
		removed, ok := tx.dropScanned(sel)
		if !ok {
			var err error
			if removed, err = l.dropDecoded(ctx, tx, sel); err != nil {
				return err
			}
		}
		res.Entries = removed
		// What the removed entries reached is all that may become garbage
		// (with the old indexes of fallback tags the transaction rewrote
		// without a deleted referrer, which gcLocked adds).
		candidates = l.reachedBy(ctx, removed)
		return nil
	}
	err := l.Update(ctx, update)
	if err != nil && errors.Is(err, syscall.ENOSPC) && !l.shared {
		err = l.retryDeleteAfterGC(ctx, err, update)
	}
	if err != nil {
		return nil, fmt.Errorf("deleting %s from %s: %w", describeSelector(sel), dir, err)
	}
	if testHookDeleteCommitted != nil {
		testHookDeleteCommitted()
	}
	if l.shared {
		return res, nil
	}
	release, err := l.acquireGCLease(ctx)
	if err != nil {
		return res, err
	}
	defer release()
	res.Reclaimed, err = l.gcLocked(ctx, gcOptions{}, candidates)
	if err != nil {
		return res, fmt.Errorf("deleted %s from index.json of %s, but reclaiming its blobs failed (run ocilayout gc): %w", describeSelector(sel), dir, err)
	}
	return res, nil
}

// dropDecoded is Delete's change on the index decoded whole: it drops
// what sel selects, and the referrers left without a subject by that, and
// returns them.
func (l *Layout) dropDecoded(ctx context.Context, tx *IndexTx, sel Selector) ([]imgspecv1.Descriptor, error) {
	idx := tx.full()
	drop, err := l.selectForDelete(ctx, idx, sel)
	if err != nil {
		return nil, err
	}
	kept, removed := removeEntries(idx.Manifests, drop)
	// If the remaining indexes cannot be read, keep every referrer:
	// dropping a live signature is worse than keeping a dead one.
	if orphans, err := l.orphanReferrers(ctx, kept); err == nil && len(orphans) > 0 {
		var more []imgspecv1.Descriptor
		kept, more = removeEntries(kept, orphans)
		removed = append(removed, more...)
	}
	idx.Manifests = kept
	return removed, nil
}

func describeSelector(sel Selector) string {
	if sel.isZero() {
		return "the only image"
	}
	return sel.String()
}

// selectForDelete returns the positions of the entries Delete removes.
func (l *Layout) selectForDelete(ctx context.Context, idx *imgspecv1.Index, sel Selector) (map[int]bool, error) {
	drop := map[int]bool{}
	switch sel.kind {
	case selectIndex:
		if sel.index >= len(idx.Manifests) {
			return nil, fmt.Errorf("index @%d: only %d entries: %w", sel.index, len(idx.Manifests), ErrNotFound)
		}
		drop[sel.index] = true
	case selectName:
		for i, e := range idx.Manifests {
			if entryName(e) == sel.name {
				drop[i] = true
			}
		}
		if len(drop) == 0 {
			return nil, fmt.Errorf("name %q: %w", sel.name, ErrNotFound)
		}
	case selectDigest:
		for i, e := range idx.Manifests {
			if e.Digest == sel.digest {
				drop[i] = true
			}
		}
		if len(drop) > 0 {
			break
		}
		if _, nested, err := l.findDigest(ctx, idx.Manifests, sel.digest, map[digest.Digest]bool{}); err == nil && nested {
			return nil, fmt.Errorf("manifest %s is inside an index, not an entry of index.json; delete the index that holds it", sel.digest)
		}
		return nil, fmt.Errorf("manifest %s: %w", sel.digest, ErrNotFound)
	default:
		d, err := l.Resolve(ctx, idx, sel)
		if err != nil {
			return nil, err
		}
		for i, e := range idx.Manifests {
			if e.Digest == d.Digest && e.Annotations[AnnotationSubject] == "" {
				drop[i] = true
				break
			}
		}
	}
	return drop, nil
}
