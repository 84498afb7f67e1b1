package layout

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// gtNotified opens the layout at dir again with a lock-wait callback
// that reports each notice on the returned channel.
func gtNotified(t *testing.T, dir string) (*Layout, <-chan string) {
	t.Helper()
	notes := make(chan string, 16)
	l, err := Open(dir, WithLockTimeout(0, func(m string) { notes <- m }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, notes
}

// gtGCAsync runs GC on l with a deadline and returns its outcome.
func gtGCAsync(t *testing.T, l *Layout) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	go func() {
		defer cancel()
		_, err := l.GC(ctx)
		done <- err
	}()
	return done
}

// gtUntilGCWaits returns once GC says it waits for leases, and fails the
// test if GC finished instead (or neither happened within a deadline).
func gtUntilGCWaits(t *testing.T, notes <-chan string, gcDone <-chan error) {
	t.Helper()
	for {
		select {
		case m := <-notes:
			if strings.Contains(m, "waits for in-flight writers or readers") {
				return
			}
		case err := <-gcDone:
			t.Fatalf("GC finished (%v) while a lease was held", err)
		case <-time.After(20 * time.Second):
			t.Fatal("GC neither waited nor finished within 20 s")
		}
	}
}

// TestGCKeepsWhatAReaderResolved: a reader (a source) holds a read lease
// from before it reads index.json; a writer moves the tag and GC runs
// meanwhile: GC waits for the reader, so every blob of the image the
// reader resolved stays readable, and is collected once it is done.
func TestGCKeepsWhatAReaderResolved(t *testing.T) {
	ctx := context.Background()
	l, dir := gtCreate(t)
	layer, err := l.putBytes(ctx, []byte("old layer"))
	must(t, err)
	old := gtManifestWithLayer(t, l, imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageLayer, Digest: layer, Size: 9})
	// Written as a copy writes: under a write lease (which also makes the
	// lease's lock files; a reader creates none).
	w, err := l.AcquireWriteLease(ctx)
	must(t, err)
	must(t, l.addManifest(ctx, old, "t"))
	w.Release()

	lease, err := l.AcquireReadLease(ctx)
	must(t, err)
	idx, err := l.Index(ctx)
	must(t, err)
	seen, err := l.Resolve(ctx, idx, sel(t, "t"))
	must(t, err)

	must(t, l.addManifest(ctx, gtManifest(t, l, "new"), "t")) // the writer moves the tag
	gcl, notes := gtNotified(t, dir)
	gcDone := gtGCAsync(t, gcl)
	gtUntilGCWaits(t, notes, gcDone)

	if _, err := l.ReadBlob(ctx, seen.Digest, seen.Size); err != nil {
		t.Fatalf("reading the manifest the reader resolved: %v", err)
	}
	if _, err := l.ReadBlob(ctx, layer, 9); err != nil {
		t.Fatalf("reading its layer: %v", err)
	}
	lease.Release()
	must(t, <-gcDone)
	if _, err := l.ReadBlob(ctx, layer, 9); err == nil {
		t.Fatal("the old image's layer survived the GC that ran after the reader was done")
	}
}

// TestGCLetsWritersPastASlowWriter: GC waiting for one slow writer does
// not keep other writers out: it gives up the gate after its patience,
// so a second writer takes its lease and commits while the slow one still
// holds its own; GC finishes after the slow writer is done.
func TestGCLetsWritersPastASlowWriter(t *testing.T) {
	ctx := context.Background()
	l, dir := gtCreate(t)
	slow, err := l.AcquireWriteLease(ctx)
	must(t, err)
	gcl, notes := gtNotified(t, dir)
	gcDone := gtGCAsync(t, gcl)
	gtUntilGCWaits(t, notes, gcDone)

	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	quick, err := l.AcquireWriteLease(wctx)
	if err != nil {
		t.Fatalf("a second writer could not get past a GC waiting for a slow writer: %v", err)
	}
	m := gtManifest(t, l, "quick")
	must(t, l.Update(wctx, func(tx *IndexTx) error { return tx.Tag(m, "quick") }))
	quick.Release()
	slow.Release()
	must(t, <-gcDone)
	if _, err := l.ReadBlob(ctx, m.Digest, m.Size); err != nil {
		t.Fatalf("GC removed the quick writer's committed manifest: %v", err)
	}
}

// TestReadLeaseCreatesNothing: a reader's lease writes nothing to a layout
// (no lock file where none is), so reading stays possible without write
// access and leaves a read-only tree unchanged.
func TestReadLeaseCreatesNothing(t *testing.T) {
	ctx := context.Background()
	l, dir := gtCreate(t)
	for _, n := range []string{leaseLockFile, gcGateFile} {
		_ = os.Remove(filepath.Join(dir, n))
	}
	before := gtTree(t, dir)
	lease, err := l.AcquireReadLease(ctx)
	must(t, err)
	lease.Release()
	if after := gtTree(t, dir); after != before {
		t.Fatalf("a read lease changed the layout:\n%s\nwas\n%s", after, before)
	}
}
