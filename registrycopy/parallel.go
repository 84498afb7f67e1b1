package registrycopy

import (
	"context"
	"sync"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// eachBlob runs copyBlob for every blob, r.parallel at a time (or as the
// caller's ConcurrentBlobCopiesSemaphore allows, shared with its other
// copies, as copy.Image does), and returns the first error, which cancels
// the others.
func (r *route) eachBlob(ctx context.Context, ds []imgspecv1.Descriptor, copyBlob func(context.Context, imgspecv1.Descriptor) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	acquire, release := r.slots(len(ds))
	var wg sync.WaitGroup
	for _, d := range ds {
		if err := acquire(ctx); err != nil {
			cancel(err)
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer release()
			if err := copyBlob(ctx, d); err != nil {
				cancel(err) // only the first cause is kept
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return nil
}

// slots are the acquire and release of one blob's place among those in
// flight.
func (r *route) slots(n int) (func(context.Context) error, func()) {
	if s := r.o.ConcurrentBlobCopiesSemaphore; s != nil {
		return func(ctx context.Context) error { return s.Acquire(ctx, 1) }, func() { s.Release(1) }
	}
	sem := make(chan struct{}, r.parallel(n))
	acquire := func(ctx context.Context) error {
		select {
		case sem <- struct{}{}:
			return ctx.Err()
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	return acquire, func() { <-sem }
}
