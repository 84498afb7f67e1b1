package registrycopy

import (
	"context"
	"io"
	"sync"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// eachBlob runs copyBlob for every blob, r.parallel at a time (or as the
// caller's ConcurrentBlobCopiesSemaphore allows, shared with its other
// copies, as copy.Image does), and returns the first error, which cancels
// the others. A blob's place is given up when copyBlob returns, or
// earlier, when it calls done: a pull calls it once the blob's last byte
// has arrived, so the next blob's GET starts while this one's fsync
// waits for the disk (the places bound the streams, not the syncs).
func (r *route) eachBlob(ctx context.Context, ds []imgspecv1.Descriptor, copyBlob func(ctx context.Context, b imgspecv1.Descriptor, done func()) error) error {
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
			done := sync.OnceFunc(release)
			defer done()
			if err := copyBlob(ctx, d, done); err != nil {
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

// atEOF calls done when r has given its last byte (io.EOF), before the
// reader's consumer goes on to what follows the stream.
type atEOF struct {
	r    io.Reader
	done func()
}

func (a atEOF) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if err == io.EOF {
		a.done()
	}
	return n, err
}
