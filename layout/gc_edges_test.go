package layout

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestGCLeavesIndexAlone: a GC with no orphan referrer to drop does not
// rewrite index.json (every rewrite is a new file renamed into place, so
// the same inode means untouched), and its result counts what it removed.
func TestGCLeavesIndexAlone(t *testing.T) {
	l, dir := mtCreate(t)
	mtTag(t, l, mtManifest(t, l, imgspecv1.MediaTypeImageManifest, `{"k":1}`, "kept"), "k")
	garbage := mtPut(t, l, "", []byte("garbage"))
	gtWriteRaw(t, filepath.Join(dir, "blobs", tempPrefix+"stale"), []byte("stale temp"))
	before, err := os.Stat(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := l.GC(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("GC rewrote index.json although it had no entry to drop")
	}
	if (len(res.Blobs)+len(res.TempFiles)) != 2 || res.Bytes != int64(len("garbage")+len("stale temp")) {
		t.Errorf("GC result: %d files, %d bytes; want 2 files (%s and the temp file), %d bytes", (len(res.Blobs) + len(res.TempFiles)), res.Bytes, garbage.Digest, len("garbage")+len("stale temp"))
	}
}

// TestDeletePositionPastTheEnd: @N with N the number of entries names no
// entry: ErrNotFound, and the layout is unchanged.
func TestDeletePositionPastTheEnd(t *testing.T) {
	l, dir := mtCreate(t)
	img := mtManifest(t, l, imgspecv1.MediaTypeImageManifest, `{"only":1}`, "layer")
	mtTag(t, l, img, "only")
	for _, n := range []int{1, 2} {
		if _, err := deleteIn(context.Background(), dir, Selector{kind: selectIndex, index: n}); !errors.Is(err, ErrNotFound) {
			t.Errorf("Delete @%d of a 1-entry layout = %v; want ErrNotFound", n, err)
		}
	}
	mtAssertPresent(t, l, true, img.blobs...)
	if names := mtNames(t, l); len(names) != 1 {
		t.Errorf("entries after refused deletes: %v", names)
	}
}

// TestPutBlobDeclaredZeroSize: a declared size of 0 is checked like any
// other: content that is not empty is refused and nothing is stored.
func TestPutBlobDeclaredZeroSize(t *testing.T) {
	l, dir := gtCreate(t)
	if _, _, err := l.PutBlob(context.Background(), bytes.NewReader([]byte("not empty")), "", 0); err == nil {
		t.Fatal("PutBlob of 9 bytes declared as 0 succeeded")
	}
	if blobs := mtBlobsOnDisk(t, l); len(blobs) != 0 {
		t.Errorf("blobs stored: %v", blobs)
	}
	if left := gtTemps(t, dir); len(left) > 0 {
		t.Errorf("temp files left behind: %v", left)
	}
}

// TestGCLeavesTempNamedDirectories: only files are temp files; a
// directory that happens to carry the temp prefix is not GC's to remove,
// and does not make GC fail.
func TestGCLeavesTempNamedDirectories(t *testing.T) {
	l, dir := mtCreate(t)
	odd := filepath.Join(dir, "blobs", tempPrefix+"dir")
	gtWriteRaw(t, filepath.Join(odd, "inside"), []byte("x"))
	res, err := l.GC(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.TempFiles) != 0 {
		t.Errorf("GC counted %v as temp files", res.TempFiles)
	}
	if _, err := os.Stat(filepath.Join(odd, "inside")); err != nil {
		t.Errorf("GC removed a directory's content: %v", err)
	}
}
