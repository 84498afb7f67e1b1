package layout

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestGCAfterTagMove(t *testing.T) {
	for _, dryRun := range []bool{false, true} {
		t.Run("dryRun="+strconv.FormatBool(dryRun), func(t *testing.T) {
			ctx := context.Background()
			l, _ := mtCreate(t)
			old := mtManifest(t, l, imgspecv1.MediaTypeImageManifest, `{"v":1}`, "base", "old-app")
			mtTag(t, l, old, "app:latest")
			other := mtManifest(t, l, mediaTypeDockerManifest, `{"other":1}`, "base", "other")
			mtTag(t, l, other, "other")
			cur := mtManifest(t, l, imgspecv1.MediaTypeImageManifest, `{"v":2}`, "base", "new-app")
			mtTag(t, l, cur, "app:latest") // the tag moves; old is now garbage

			var opts []GCOption
			if dryRun {
				opts = append(opts, DryRun())
			}
			res, err := l.GC(ctx, opts...)
			if err != nil {
				t.Fatal(err)
			}
			freed := map[digest.Digest]bool{}
			var bytes int64
			for _, b := range res.Blobs {
				freed[b.Digest] = true
				bytes += b.Size
			}
			want := []digest.Digest{old.desc.Digest, old.blobs[1], old.blobs[3]} // manifest, config, old-app layer
			if len(freed) != len(want) {
				t.Errorf("freed %d blobs, want %d: %v", len(freed), len(want), res.Blobs)
			}
			for _, d := range want {
				if !freed[d] {
					t.Errorf("%s not freed", d)
				}
			}
			if res.Bytes != bytes || bytes == 0 || (len(res.Blobs)+len(res.TempFiles)) != len(want) {
				t.Errorf("Bytes()=%d Files()=%d, blobs sum to %d", res.Bytes, (len(res.Blobs) + len(res.TempFiles)), bytes)
			}
			mtAssertPresent(t, l, dryRun, want...)
			mtAssertPresent(t, l, true, append(cur.blobs, other.blobs...)...)
			if !dryRun {
				mtAssertSound(t, l)
			}
		})
	}
}

func TestGCTempFilesAndOrphanReferrers(t *testing.T) {
	ctx := context.Background()
	l, dir := mtCreate(t)
	img := mtManifest(t, l, imgspecv1.MediaTypeImageManifest, "{}", "x")
	mtTag(t, l, img, "x")
	sig := mtReferrer(t, l, img.desc, "sig")
	// Remove the subject behind Delete's back, as a tool unaware of
	// referrers would: the signature entry is left without a subject.
	if err := l.updateRaw(ctx, func(idx *imgspecv1.Index) error {
		idx.Manifests = idx.Manifests[1:]
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ours := []string{filepath.Join(dir, tempPrefix+"crashed-index"), filepath.Join(dir, "blobs", tempPrefix+"crashed-blob")}
	foreign := filepath.Join(dir, "blobs", "sha256", ".tmp-other-tool")
	for _, p := range append(ours, foreign) {
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := l.GC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Entries) != 1 || res.Entries[0].Digest != sig.desc.Digest {
		t.Errorf("dropped entries %v, want the orphaned signature", res.Entries)
	}
	if len(res.TempFiles) != 2 {
		t.Errorf("removed temp files %v, want 2", res.TempFiles)
	}
	for _, p := range ours {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there: %v", p, err)
		}
	}
	if _, err := os.Stat(foreign); err != nil {
		t.Errorf("another tool's temp file was removed: %v", err)
	}
	mtAssertPresent(t, l, false, append(img.blobs, sig.blobs...)...)
	if names := mtNames(t, l); len(names) != 0 {
		t.Errorf("entries left: %q", names)
	}
}

func TestGCRefusesWhenAManifestIsUnreadable(t *testing.T) {
	l, dir := mtCreate(t)
	img := mtManifest(t, l, imgspecv1.MediaTypeImageManifest, "{}", "x")
	mtTag(t, l, img, "x")
	garbage := mtPut(t, l, "", []byte("garbage"))
	mtCorrupt(t, dir, img.desc.Digest, []byte(`{"schemaVersion":2}`))
	if _, err := l.GC(context.Background()); err == nil {
		t.Fatal("GC succeeded over a corrupt manifest")
	}
	mtAssertPresent(t, l, true, garbage.Digest, img.blobs[1], img.blobs[2])
}

// TestGCKeepsBlobsOfAnInFlightWriter: a writer holding a lease has put a
// blob that index.json does not reference yet; GC, started meanwhile, must
// wait for the lease and so find it committed.
func TestGCKeepsBlobsOfAnInFlightWriter(t *testing.T) {
	ctx := context.Background()
	l, dir := mtCreate(t)
	lease, err := l.AcquireWriteLease(ctx)
	if err != nil {
		t.Fatal(err)
	}
	img := mtManifest(t, l, imgspecv1.MediaTypeImageManifest, "{}", "in flight")
	done := make(chan error)
	go func() {
		other, err := Open(dir) // another handle, as another process would have
		if err != nil {
			done <- err
			return
		}
		defer other.Close()
		_, err = other.GC(ctx)
		done <- err
	}()
	mtTag(t, l, img, "committed")
	lease.Release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mtAssertPresent(t, l, true, img.blobs...)
	mtAssertSound(t, l)
}

func TestGCSharedBlobDirRemovesNoBlob(t *testing.T) {
	ctx := context.Background()
	shared := filepath.Join(t.TempDir(), "shared")
	a, _ := mtCreate(t, WithSharedBlobDir(shared))
	b, _ := mtCreate(t, WithSharedBlobDir(shared))
	onlyB := mtManifest(t, b, imgspecv1.MediaTypeImageManifest, `{"b":1}`, "b")
	mtTag(t, b, onlyB, "b") // a does not reach these blobs; gc of a must keep them
	res, err := a.GC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !res.SharedBlobDir || len(res.Blobs) != 0 {
		t.Errorf("gc of a shared-blob layout: %+v", res)
	}
	mtAssertPresent(t, b, true, onlyB.blobs...)
	mtAssertSound(t, a)
	mtAssertSound(t, b)
}

// The crash tests run this package's test binary again as a child that
// kills itself with SIGKILL at an exact point inside GC or Delete (through
// the test hooks), which is a kill -9 with no timing involved.
// TestMain (crash_helper_test.go) runs the child instead of the tests.
const mtCrashEnv = "OCILAYOUT_TEST_CRASH" // "gc:N" or "delete:N" (N<0: after the index write)

func TestCrashDuringDeleteAndGC(t *testing.T) {
	for _, spec := range []string{"delete:-1", "delete:0", "delete:2", "gc:0", "gc:1", "gc:3"} {
		t.Run(spec, func(t *testing.T) {
			l, dir := mtCreate(t)
			keep := mtManifest(t, l, imgspecv1.MediaTypeImageManifest, `{"keep":1}`, "shared", "k")
			mtTag(t, l, keep, "keep")
			victim := mtManifest(t, l, imgspecv1.MediaTypeImageManifest, `{"victim":1}`, "shared", "v1", "v2")
			mtTag(t, l, victim, "victim")
			mtReferrer(t, l, victim.desc, "victim's signature")
			if spec[:2] == "gc" { // garbage for gc: a moved tag
				mtTag(t, l, mtManifest(t, l, imgspecv1.MediaTypeImageManifest, `{"g":1}`, "g1", "g2", "g3"), "victim")
			}
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), mtCrashEnv+"="+spec, mtCrashEnv+"_DIR="+dir)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("child was not killed by SIGKILL: %v\n%s", err, out)
			}
			// Before any repair: no entry may name a missing blob.
			r, err := l.Verify(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range r.Problems {
				if p.Kind != problemUnreachable && p.Kind != problemTemp {
					t.Errorf("after the crash: %s", p)
				}
			}
			if _, err := l.GC(context.Background()); err != nil {
				t.Fatal(err)
			}
			mtAssertSound(t, l)
			mtAssertPresent(t, l, true, keep.blobs...)
		})
	}
}
