package layout

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// The lease tests synchronise on the locks themselves, with no sleeps: a
// goroutine that must wait for a lock is known to wait once the kernel
// lists it as a blocked flock waiter on that file in /proc/locks. Until
// then the test keeps checking whether the goroutine instead finished,
// which is the bug each test is there to catch. Either outcome is certain
// to come, so the result never depends on timing.

// TestGCWaitsForWriteLease: a writer holding the write lease has put an
// image that index.json does not reference yet. GC, started meanwhile from
// another handle (as another process would), must block on the lease and
// not finish before the writer commits and releases; it then keeps the
// committed blobs. (TestGCKeepsBlobsOfAnInFlightWriter passes even with the
// lease disabled, because the writer usually commits before GC reads
// index.json; here GC cannot finish early without failing the test.)
func TestGCWaitsForWriteLease(t *testing.T) {
	l, dir := mtCreate(t)
	lease, err := l.AcquireWriteLease()
	if err != nil {
		t.Fatal(err)
	}
	defer lease.Release()
	img := mtManifest(t, l, imgspecv1.MediaTypeImageManifest, `{"lease":1}`, "in flight")
	gcDone := ltGC(t, dir)

	ltAwaitBlocked(t, filepath.Join(dir, leaseLockFile), gcDone, nil, "GC while a writer holds the write lease")
	mtAssertPresent(t, l, true, img.blobs...)
	mtTag(t, l, img, "committed")
	lease.Release()
	if err := <-gcDone; err != nil {
		t.Fatal(err)
	}
	mtAssertPresent(t, l, true, img.blobs...)
	mtAssertSound(t, l)
}

// TestGCShutsOutNewWriters: while GC waits for the exclusive lease, a new
// writer queues behind it at the gate instead of taking a shared lease
// (without the gate a stream of overlapping writers would starve GC); and
// while GC runs, a writer cannot start. Both waits are seen as flock
// waiters; GC is held inside its removal loop by its test hook.
func TestGCShutsOutNewWriters(t *testing.T) {
	l, dir := mtCreate(t)
	garbage := mtPut(t, l, "", []byte("garbage for GC to remove"))
	first, err := l.AcquireWriteLease()
	if err != nil {
		t.Fatal(err)
	}
	defer first.Release()

	inRemoval, resume := make(chan struct{}), make(chan struct{})
	testHookBeforeRemove = func(n int) {
		if n == 0 {
			close(inRemoval)
			<-resume
		}
	}
	defer func() { testHookBeforeRemove = nil }()
	gcDone := ltGC(t, dir)
	defer close(resume) // a GC that got past the lease must not hang the test
	ltAwaitBlocked(t, filepath.Join(dir, leaseLockFile), gcDone, inRemoval, "GC while a writer holds the write lease")

	// GC now holds the gate and waits for the lease: a second writer
	// must wait at the gate, although the lease itself is only shared.
	second := ltLease(t, l)
	ltAwaitBlocked(t, filepath.Join(dir, gcGateFile), second, nil, "a new writer while GC waits for the lease")

	first.Release() // GC gets the lease, runs, and stops at its first removal
	select {
	case <-inRemoval:
	case err := <-gcDone:
		t.Fatalf("GC finished (%v) without removing the garbage blob", err)
	}
	select {
	case err := <-second:
		t.Fatalf("a writer got a lease (%v) while GC was removing blobs", err)
	default:
	}
	resume <- struct{}{}
	if err := <-gcDone; err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	mtAssertPresent(t, l, false, garbage.Digest)
}

// ltGC runs GC on a second handle of dir and reports its result.
func ltGC(t *testing.T, dir string) chan error {
	t.Helper()
	other, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	done := make(chan error, 1)
	go func() {
		_, err := other.GC(context.Background(), GCOptions{})
		done <- err
	}()
	return done
}

// ltLease acquires a write lease on l in a goroutine, reports when it has
// it, and releases it at the end of the test.
func ltLease(t *testing.T, l *Layout) chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		lease, err := l.AcquireWriteLease()
		if err == nil {
			t.Cleanup(lease.Release)
		}
		done <- err
	}()
	return done
}

// ltAwaitBlocked returns once some process waits for a flock on path, and
// fails the test if done (the goroutine that should be that waiter)
// delivers first, or past is closed (it got past the lock): what was meant
// to wait did not.
func ltAwaitBlocked(t *testing.T, path string, done chan error, past <-chan struct{}, what string) {
	t.Helper()
	for !ltFlockWaiter(t, path) {
		select {
		case err := <-done:
			t.Fatalf("%s did not wait (finished with %v)", what, err)
		case <-past:
			t.Fatalf("%s did not wait", what)
		default:
			runtime.Gosched()
		}
	}
}

// ltFlockWaiter reports whether /proc/locks lists a blocked FLOCK request
// ("N: -> FLOCK ADVISORY WRITE PID MAJ:MIN:INODE ...") on path.
func ltFlockWaiter(t *testing.T, path string) bool {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		return false // not created yet: nobody waits on it
	}
	st := fi.Sys().(*syscall.Stat_t)
	id := fmt.Sprintf("%02x:%02x:%d", unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
	f, err := os.Open("/proc/locks")
	if err != nil {
		t.Fatalf("these tests watch flock waiters in /proc/locks: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 7 && fields[1] == "->" && fields[2] == "FLOCK" && fields[6] == id {
			return true
		}
	}
	return false
}
