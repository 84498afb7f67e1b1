package layout

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// TestBlobPath: a blob's path is under blobs/ in a layout of its own and
// directly ALG/HEX in a shared blob directory; a malformed digest has none.
func TestBlobPath(t *testing.T) {
	d := digest.FromString("blob")
	own, _ := mtCreate(t)
	shared, _ := mtCreate(t, WithSharedBlobDir(filepath.Join(t.TempDir(), "shared")))
	for _, tc := range []struct {
		name string
		l    *Layout
		want string
	}{
		{"own blobs", own, "blobs/sha256/" + d.Encoded()},
		{"shared blob directory", shared, "sha256/" + d.Encoded()},
	} {
		if got, err := tc.l.blobPath(d); err != nil || got != tc.want {
			t.Errorf("%s: BlobPath = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	if p, err := own.blobPath("sha256:../../etc"); err == nil {
		t.Errorf("BlobPath of a malformed digest = %q", p)
	}
}

// TestPutBlobCommitFailureLeavesNoTemp: when the final rename fails (here
// a directory stands where the blob goes), PutBlob fails naming the place
// and removes its temp file.
func TestPutBlobCommitFailureLeavesNoTemp(t *testing.T) {
	l, dir := gtCreate(t)
	data := []byte("a blob whose place is taken")
	d := digest.FromBytes(data)
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256", d.Encoded(), "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := l.putBytes(context.Background(), data)
	if err == nil || !strings.Contains(err.Error(), d.Encoded()) {
		t.Fatalf("PutBlob onto a directory = %v; want an error naming %s", err, d.Encoded())
	}
	if left := gtTemps(t, dir); len(left) > 0 {
		t.Fatalf("temp files left behind: %v", left)
	}
}
