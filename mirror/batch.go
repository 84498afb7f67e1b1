package mirror

import (
	"context"
	"sync"
	"time"
)

// Batched commits. Every copy.Image into a layout ends in an index.json
// rewrite under the lock, which at tens of thousands of names costs more
// than the copy; a large sync therefore commits its names in batches of
// up to batchSize images, or every batchEvery, whichever comes first, in
// one transaction each. Small syncs commit per image: an interrupted
// batched sync loses the names of its last batch (never their blobs,
// which are on disk and reused by the rerun, but copy.Image reads each
// image's config again), so below batchAbove images the extra requests
// of a resume are not worth the saving.
const (
	batchAbove = 200
	batchSize  = 256
	batchEvery = 2 * time.Second
)

// runBatch is one sync's batch and the items waiting for its commit.
type runBatch struct {
	b    *batch
	redo func(*item) // an item whose batch failed, alone and unbatched

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
	return &runBatch{b: b, redo: redo, last: time.Now()}, nil
}

// wait holds it's report until its name is committed, and commits when the
// batch is full or old enough.
func (r *runBatch) wait(ctx context.Context, it *item, done func(*item)) {
	r.mu.Lock()
	r.waiting = append(r.waiting, it)
	due := len(r.waiting) >= batchSize || time.Since(r.last) >= batchEvery
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
