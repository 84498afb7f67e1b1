package layout

import (
	"context"
	"strings"
	"testing"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// The lease tests synchronise on the locks themselves, with no sleeps: a
// goroutine that must wait for a lock is known to wait once the engine's
// lock-wait notice for it arrives (WithLockTimeout's callback, given
// after a second of waiting). Until then the test keeps checking whether
// the goroutine instead finished, which is the bug each test is there to
// catch. Either outcome is certain to come, so the result never depends
// on timing.

// TestGCWaitsForWriteLease: a writer holding the write lease has put an
// image that index.json does not reference yet. GC, started meanwhile from
// another handle (as another process would), must block on the lease and
// not finish before the writer commits and releases; it then keeps the
// committed blobs. (TestGCKeepsBlobsOfAnInFlightWriter passes even with the
// lease disabled, because the writer usually commits before GC reads
// index.json; here GC cannot finish early without failing the test.)
func TestGCWaitsForWriteLease(t *testing.T) {
	l, dir := mtCreate(t)
	lease, err := l.AcquireWriteLease(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer lease.Release()
	img := mtManifest(t, l, imgspecv1.MediaTypeImageManifest, `{"lease":1}`, "in flight")
	gcDone, notes := ltGC(t, dir)

	ltAwaitNotice(t, notes, "in-flight writers", gcDone, nil, "GC while a writer holds the write lease")
	mtAssertPresent(t, l, true, img.blobs...)
	mtTag(t, l, img, "committed")
	lease.Release()
	if err := <-gcDone; err != nil {
		t.Fatal(err)
	}
	mtAssertPresent(t, l, true, img.blobs...)
	mtAssertSound(t, l)
}

// TestGCShutsOutNewWriters: while GC runs, a writer cannot start. GC is
// held inside its removal loop by its test hook. (That GC waiting for the
// lease lets writers in after its patience, so that one slow writer does
// not stall the others, is TestGCLetsWritersPastASlowWriter.)
func TestGCShutsOutNewWriters(t *testing.T) {
	l, dir := mtCreate(t)
	garbage := mtPut(t, l, "", []byte("garbage for GC to remove"))
	first, err := l.AcquireWriteLease(context.Background())
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
	gcDone, notes := ltGC(t, dir)
	defer close(resume) // a GC that got past the lease must not hang the test
	ltAwaitNotice(t, notes, "in-flight writers", gcDone, inRemoval, "GC while a writer holds the write lease")

	first.Release() // GC gets the lease, runs, and stops at its first removal
	select {
	case <-inRemoval:
	case err := <-gcDone:
		t.Fatalf("GC finished (%v) without removing the garbage blob", err)
	}
	second := ltLease(t, l)
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

// ltGC runs GC on a second handle of dir and reports its result, and its
// lock-wait notices.
func ltGC(t *testing.T, dir string) (chan error, chan string) {
	t.Helper()
	notes := make(chan string, 64)
	other, err := Open(dir, WithLockTimeout(0, func(m string) {
		select {
		case notes <- m:
		default:
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	done := make(chan error, 1)
	go func() {
		_, err := other.GC(context.Background())
		done <- err
	}()
	return done, notes
}

// ltLease acquires a write lease on l in a goroutine, reports when it has
// it, and releases it at the end of the test.
func ltLease(t *testing.T, l *Layout) chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		lease, err := l.AcquireWriteLease(context.Background())
		if err == nil {
			t.Cleanup(lease.Release)
		}
		done <- err
	}()
	return done
}

// ltAwaitNotice returns once a lock-wait notice containing what arrives
// on notes, and fails the test if done (the goroutine that should be
// waiting) delivers first, or past is closed (it got past the lock).
func ltAwaitNotice(t *testing.T, notes chan string, substr string, done chan error, past <-chan struct{}, what string) {
	t.Helper()
	for {
		select {
		case m := <-notes:
			if strings.Contains(m, substr) {
				return
			}
		case err := <-done:
			t.Fatalf("%s did not wait (finished with %v)", what, err)
		case <-past:
			t.Fatalf("%s did not wait", what)
		}
	}
}
