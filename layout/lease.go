package layout

import "github.com/ocilayout/ocilayout/layout/internal/flock"

// lock takes one of the layout's lock files (see flock.Lock). Two lock
// files, two roles:
//   - indexLockFile, exclusive: held while index.json is re-read, changed and
//     replaced. Every writer re-reads under it, so no update is lost.
//   - leaseLockFile, shared by every writer from its first blob until its
//     commit, exclusive by GC: GC never runs while a blob that is not yet
//     referenced by index.json might still be committed.
func (l *Layout) lock(name string, exclusive bool) (func(), error) {
	return flock.Lock(l.root, l.dir, name, exclusive)
}

// WriteLease is held by a writer for as long as it has blobs in the layout
// that index.json may not reference yet. GC waits for all leases to be
// released before it decides what is garbage.
type WriteLease struct{ release func() }

// AcquireWriteLease takes a shared lease on the layout; release it with
// Release once the writer has committed or given up.
func (l *Layout) AcquireWriteLease() (*WriteLease, error) {
	// Pass through the gate first (see gcGateFile): while a GC waits for
	// the exclusive lease, new writers queue here instead of starving it.
	leaveGate, err := l.lock(gcGateFile, false)
	if err != nil {
		return nil, err
	}
	defer leaveGate()
	release, err := l.lock(leaseLockFile, false)
	if err != nil {
		return nil, err
	}
	return &WriteLease{release: release}, nil
}

// gcGateFile is taken shared, briefly, by every writer before its lease and
// exclusively by GC while it waits for and holds the exclusive lease. flock
// grants a shared lock whenever no exclusive one is held, even if an
// exclusive request is waiting, so without the gate a steady stream of
// overlapping writers would keep GC waiting for ever.
const gcGateFile = ".ocilayout-gc-gate.lock"

// acquireGCLease waits until no writer holds a lease and returns the
// function that lets writers in again. While it is held, every blob a
// writer put or reused has been committed to index.json or abandoned, so
// what index.json does not reach is garbage.
func (l *Layout) acquireGCLease() (func(), error) {
	closeGate, err := l.lock(gcGateFile, true)
	if err != nil {
		return nil, err
	}
	release, err := l.lock(leaseLockFile, true)
	if err != nil {
		closeGate()
		return nil, err
	}
	return func() { release(); closeGate() }, nil
}

// Release gives the lease back. It is safe to call more than once.
func (w *WriteLease) Release() {
	if w != nil && w.release != nil {
		w.release()
		w.release = nil
	}
}
