package layout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ocilayout/ocilayout/layout/internal/flock"
	"github.com/sirupsen/logrus"
)

// lock takes one of the layout's lock files (see flock.Lock for what a
// lock file must be, and how waits honour ctx and the lock timeout).
// Three lock files, three roles:
//   - indexLockFile, exclusive: held while index.json is re-read, changed and
//     replaced. Every writer re-reads under it, so no update is lost.
//   - leaseLockFile, shared by every writer from its first blob until its
//     commit and by every source from its open to its close, exclusive by
//     GC: GC never runs while a blob that is not yet referenced by
//     index.json might still be committed, or while a reader may still
//     read an image that index.json no longer names.
//   - gcGateFile: see below.
func (l *Layout) lock(ctx context.Context, name string, exclusive bool) (func(), error) {
	return flock.Lock(ctx, l.root, l.dir, name, exclusive, l.lockOpts(name, l.lockTimeout))
}

// lockOpts are the flock options for name: the wait's bound, and the
// notice that says what a long wait waits for.
func (l *Layout) lockOpts(name string, timeout time.Duration) flock.Options {
	what := map[string]string{
		indexLockFile: "the index lock",
		leaseLockFile: "the end of in-flight writers and readers",
		gcGateFile:    "a running gc",
	}[name]
	notify := l.lockNotify
	if notify == nil {
		notify = func(msg string) { logrus.Info(msg) }
	}
	return flock.Options{Timeout: timeout, Notify: notify, What: what}
}

// Lease is held by a writer for as long as it has blobs in the layout
// that index.json may not reference yet, and by a reader for as long as it
// reads an image it resolved from index.json. GC waits for all leases to
// be released before it decides what is garbage.
type Lease struct{ release func() }

// AcquireWriteLease takes a shared lease on the layout; release it with
// Release once the writer has committed or given up. It waits (within
// ctx and the layout's lock timeout) while a GC runs.
func (l *Layout) AcquireWriteLease(ctx context.Context) (*Lease, error) {
	if err := l.checkWritable(); err != nil {
		return nil, err
	}
	return l.acquireLease(ctx, false)
}

// acquireLease takes the shared lease, for a writer or (reader: using
// only lock files that exist, creating nothing) a reader.
func (l *Layout) acquireLease(ctx context.Context, reader bool) (*Lease, error) {
	lock := func(name string) (func(), error) {
		o := l.lockOpts(name, l.lockTimeout)
		o.NoCreate = reader
		return flock.Lock(ctx, l.root, l.dir, name, false, o)
	}
	// Pass through the gate first (see gcGateFile): while a GC waits for
	// the exclusive lease, new writers queue here instead of starving it.
	leaveGate, err := lock(gcGateFile)
	if err != nil {
		return nil, err
	}
	defer leaveGate()
	release, err := lock(leaseLockFile)
	if err != nil {
		return nil, err
	}
	return &Lease{release: release}, nil
}

// AcquireReadLease takes a shared lease for a reader of the layout (a
// source holds one from its open to its close), so that GC keeps every
// blob of what the reader resolved from index.json even after a writer
// moves the tag: the reader reads the image as it was at open. Take it
// before reading index.json. It waits while a GC runs, as a writer does.
// A reader writes nothing: on a layout without lock files (one no
// ocilayout writer has used yet) or one the caller cannot write (a
// read-only mount, another user's layout, a lock file it may not open)
// there is no lease to take, and the reader goes on without one: it cannot
// hold GC off there, and says so at debug level.
func (l *Layout) AcquireReadLease(ctx context.Context) (*Lease, error) {
	lease, err := l.acquireLease(ctx, true)
	if errors.Is(err, flock.ErrLockFile) {
		logrus.Debugf("Reading %s without a read lease (gc may remove what a moved tag leaves): %v", l.dir, err)
		return &Lease{}, nil
	}
	return lease, err
}

// gcGateFile is taken shared, briefly, by every writer and reader before
// its lease and exclusively by GC while it waits for and holds the
// exclusive lease. flock grants a shared lock whenever no exclusive one is
// held, so without the gate a steady stream of overlapping leases would
// keep GC waiting for ever.
const gcGateFile = ".ocilayout-gc-gate.lock"

// GC's patience with in-flight leases. GC closes the gate and waits for
// the exclusive lease at most gcPatience; if a lease is still held then
// (one slow pull), it opens the gate again for gcGap, so that the writers
// queued behind it go on, and retries with twice the patience, up to
// gcMaxPatience. So one slow writer delays other writers by at most the
// current patience per attempt, instead of by its whole duration, and GC
// still gets through a steady stream of overlapping writers and readers:
// once its patience outlasts them, the closed gate lets them drain.
var (
	gcPatience    = time.Second
	gcMaxPatience = 8 * time.Second
	gcGap         = 200 * time.Millisecond
)

// acquireGCLease waits until no writer or reader holds a lease and returns
// the function that lets them in again. While it is held, every blob a
// writer put or reused has been committed to index.json or abandoned,
// and no reader reads an image index.json has dropped, so what index.json
// does not reach is garbage. The whole wait is bounded by ctx and the
// layout's lock timeout.
func (l *Layout) acquireGCLease(ctx context.Context) (func(), error) {
	if l.lockTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, l.lockTimeout, fmt.Errorf("%w after %s", flock.ErrTimeout, l.lockTimeout))
		defer cancel()
	}
	patience := gcPatience
	notified := false
	for {
		closeGate, err := l.lock(ctx, gcGateFile, true)
		if err != nil {
			return nil, l.gcWaitErr(ctx, err)
		}
		o := l.lockOpts(leaseLockFile, patience)
		o.Notify = nil // GC says once, below, what it waits for
		release, err := flock.Lock(ctx, l.root, l.dir, leaseLockFile, true, o)
		if err == nil {
			return func() { release(); closeGate() }, nil
		}
		closeGate()
		if !errors.Is(err, flock.ErrTimeout) {
			return nil, l.gcWaitErr(ctx, err)
		}
		if !notified {
			notified = true
			l.lockOpts(leaseLockFile, 0).Notify(fmt.Sprintf("gc of %s waits for in-flight writers or readers (letting other writers in meanwhile)...", l.dir))
		}
		select {
		case <-ctx.Done():
			return nil, l.gcWaitErr(ctx, ctx.Err())
		case <-time.After(gcGap):
		}
		patience = min(2*patience, gcMaxPatience)
	}
}

// tryGCLease is acquireGCLease without the wait: the exclusive lease if
// nobody holds the gate or a lease now, else an error wrapping
// flock.ErrTimeout. Each lock is tried once (a timeout of 1 ns ends the
// wait after the first attempt).
func (l *Layout) tryGCLease(ctx context.Context) (func(), error) {
	once := func(name string) (func(), error) {
		o := l.lockOpts(name, time.Nanosecond)
		o.Notify = nil
		return flock.Lock(ctx, l.root, l.dir, name, true, o)
	}
	closeGate, err := once(gcGateFile)
	if err != nil {
		return nil, err
	}
	release, err := once(leaseLockFile)
	if err != nil {
		closeGate()
		return nil, err
	}
	return func() { release(); closeGate() }, nil
}

// gcWaitErr names what GC waited for when its wait ended early.
func (l *Layout) gcWaitErr(ctx context.Context, err error) error {
	if c := context.Cause(ctx); c != nil && errors.Is(c, flock.ErrTimeout) {
		err = c
	}
	return fmt.Errorf("waiting for in-flight writers and readers of %s to finish: %w", l.dir, err)
}

// Release gives the lease back. It is safe to call more than once.
func (w *Lease) Release() {
	if w != nil && w.release != nil {
		w.release()
		w.release = nil
	}
}
