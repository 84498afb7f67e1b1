package destination_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ocilayout/ocilayout/layout"
	"github.com/ocilayout/ocilayout/reference"
	"github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/types"
)

// TestCopyRepairsARottenBlobInsteadOfReusingIt: a blob of the destination
// that rotted on disk (same size, other bytes) is not reused by the next
// copy of an image that needs it: the copy fetches it again, the rotten
// file is replaced, and the layout verifies sound with the new tag.
func TestCopyRepairsARottenBlobInsteadOfReusingIt(t *testing.T) {
	base := t.TempDir()
	sys := &types.SystemContext{BlobInfoCacheDir: filepath.Join(base, "cache")}
	srcDir := filepath.Join(base, "src")
	layer := oneLayerLayout(t, srcDir)
	srcRef, _ := reference.NewReference(srcDir, "app")
	destDir := filepath.Join(base, "dst")
	for i, name := range []string{"first", "second"} {
		destRef, _ := reference.NewReference(destDir, name)
		if err := runCopy(t, srcRef, destRef, sys, sys, false); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			// A new file, so that the source, to which the first copy may
			// have hard-linked the blob, stays intact.
			p := filepath.Join(destDir, "blobs", "sha256", digest.FromBytes(layer).Encoded())
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			corrupt(t, p, layer, len(layer)/2)
		}
	}
	got, err := os.ReadFile(filepath.Join(destDir, "blobs", "sha256", digest.FromBytes(layer).Encoded()))
	if err != nil || !bytes.Equal(got, layer) {
		t.Errorf("the rotten blob was not repaired (read: %v)", err)
	}
	l, err := layout.Open(destDir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rep, err := l.Verify(context.Background())
	if err != nil || len(rep.Problems) != 0 {
		t.Errorf("verify after the second copy: %v %v", err, rep.Problems)
	}
}
