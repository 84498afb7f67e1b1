package mirror

import (
	"context"
	"sync"
	"time"
)

// Batched commits. Every copy.Image into a layout ends in an index.json
// rewrite under the lock, which at tens of thousands of names costs more
// than the copy; a large sync therefore commits its names in batches of
// up to batchSize images (more in a larger sync, see batchSizeFor), or
// every batchEvery, whichever comes first, in one transaction each.
// Small syncs commit per image: an interrupted batched sync loses the
// names of its last batch (never their blobs, which are on disk and
// reused by the rerun, but copy.Image reads each image's config again),
// so below batchAbove images the extra requests of a resume are not
// worth the saving.
const (
	batchAbove = 200
	batchSize  = 256
	batchEvery = 2 * time.Second
)

// runBatch is one sync's batch and the items waiting for its commit.
type runBatch struct {
	b    *batch
	redo func(*item) // an item whose batch failed, alone and unbatched
	size int         // images a commit waits for (batchSizeFor)

	mu      sync.Mutex // guards waiting and last
	waiting []*item
	last    time.Time
}

// startBatch returns the batch for a sync that copies n images into a
// layout, or nil when it commits per image.
func (p *plan) startBatch(ctx context.Context, n int, redo func(*item)) (*runBatch, error) {
	if p.opts.Destination.Layout == "" || p.opts.DryRun || n <= batchAbove {
		return nil, nil
	}
	b, err := newBatch(ctx, p.opts.Destination.Sys, p.opts.Destination.Layout)
	if err != nil {
		return nil, err
	}
	return &runBatch{b: b, redo: redo, size: batchSizeFor(n), last: time.Now()}, nil
}

// batchSizeFor is how many images a batch of a sync copying n images
// commits at once: batchSize, or a 64th of them when that is more. Each
// commit rewrites the whole index.json, which such a sync grows to n
// entries, so a fixed size makes the commits quadratic: a first sync of
// 100,000 names of one image committed 390 batches of 256 into an index
// growing to 27 MB. What a crash can lose stays bounded by batchEvery.
func batchSizeFor(n int) int { return max(batchSize, n/64) }

// wait holds it's report until its name is committed, and commits when the
// batch is full or old enough.
func (r *runBatch) wait(ctx context.Context, it *item, done func(*item)) {
	r.mu.Lock()
	r.waiting = append(r.waiting, it)
	due := len(r.waiting) >= r.size || time.Since(r.last) >= batchEvery
	r.mu.Unlock()
	if due {
		r.flush(ctx, done)
	}
}

// flush commits what is waiting and reports it. When the commit fails
// (one image the engine refuses to name fails the whole transaction),
// each item is redone alone, without the batch, so that only the bad one
// fails, with its own error.
func (r *runBatch) flush(ctx context.Context, done func(*item)) {
	r.mu.Lock()
	items := r.waiting
	r.waiting = nil
	r.last = time.Now()
	r.mu.Unlock()
	if _, err := r.b.Commit(ctx); err != nil {
		for _, it := range items {
			r.redo(it)
		}
	}
	for _, it := range items {
		done(it)
	}
}

// close releases the batch's write lease (before gc or prune run, which
// would otherwise wait for it).
func (r *runBatch) close() { _ = r.b.Close() }
