package destination_test

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/ocilayout/ocilayout/internal/layouttest"
	"github.com/ocilayout/ocilayout/internal/linkcache"

	"github.com/ocilayout/ocilayout/internal/fixture"
	"github.com/ocilayout/ocilayout/layout"
	"github.com/ocilayout/ocilayout/reference"
	"github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/types"
)

// TestCopyLinksBlobOfMinLinkSize: the source records blobs of
// linkcache.MinLinkSize bytes and more, and the destination links every blob
// it finds recorded, so a layer of exactly MinLinkSize bytes is linked
// (same inode where the file system cannot reflink), not streamed.
func TestCopyLinksBlobOfMinLinkSize(t *testing.T) {
	base := t.TempDir()
	sys := &types.SystemContext{BlobInfoCacheDir: filepath.Join(base, "cache")}
	srcDir := filepath.Join(base, "src")
	l, err := layout.Create(srcDir)
	if err != nil {
		t.Fatal(err)
	}
	layer := make([]byte, linkcache.MinLinkSize)
	_, _ = rand.Read(layer)
	if err := layouttest.Tag(l, context.Background(), putImage(t, l, "amd64", layer), "app"); err != nil {
		t.Fatal(err)
	}
	l.Close()
	srcRef, _ := reference.NewReference(srcDir, "app")
	destDir := filepath.Join(base, "dst")
	destRef, _ := reference.NewReference(destDir, "copy")
	if err := runCopy(t, srcRef, destRef, sys, sys, false); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join("blobs", "sha256", digest.FromBytes(layer).Encoded())
	si, err1 := os.Stat(filepath.Join(srcDir, p))
	di, err2 := os.Stat(filepath.Join(destDir, p))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	clones, err := fixture.CanReflink(base)
	if err != nil {
		t.Fatal(err)
	}
	if !clones && !os.SameFile(si, di) {
		t.Errorf("a layer of exactly MinLinkSize (%d) bytes was streamed, not linked", linkcache.MinLinkSize)
	}
}
