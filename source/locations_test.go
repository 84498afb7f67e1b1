package source_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ocilayout/ocilayout/internal/layouttest"
	"github.com/ocilayout/ocilayout/internal/linkcache"

	"github.com/ocilayout/ocilayout/layout"
	"go.podman.io/image/v5/pkg/blobinfocache"
	"go.podman.io/image/v5/transports/alltransports"
	"go.podman.io/image/v5/types"
)

// TestRecordLocationsOnce: copying from a layout records where its
// large blobs live in the blob info cache (so that a destination layout can
// link them), copying again finds them there and writes nothing, and
// opening it only to read it writes nothing at all:
// the fsync'd SQLite writes are paid once per layout, not per copy.
func TestRecordLocationsOnce(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "src")
	l, err := layout.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	big := make([]byte, 2*linkcache.MinLinkSize) // random: gzip keeps it large
	_, _ = rand.Read(big)
	desc, layer := putImage(t, l, "amd64", string(big))
	if err := layouttest.Tag(l, ctx, desc, "app"); err != nil {
		t.Fatal(err)
	}
	blobDir, dev, err := l.BlobLocation()
	if err != nil {
		t.Fatal(err)
	}
	cacheDir := t.TempDir()
	sys := &types.SystemContext{BlobInfoCacheDir: cacheDir}
	ref, err := alltransports.ParseImageName("oci-layout:" + dir + ":app")
	if err != nil {
		t.Fatal(err)
	}
	// open opens the source as copy.Image does, which asks for the layers
	// of what it copies; an open for reading only (inspect) does not.
	open := func(copying bool) {
		src, err := ref.NewImageSource(ctx, sys)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		if copying {
			if _, err := src.LayerInfosForCopy(ctx, nil); err != nil {
				t.Fatal(err)
			}
		}
	}

	empty := snapshot(t, cacheDir)
	open(false)
	if after := snapshot(t, cacheDir); after != empty {
		t.Fatalf("opening the source to read it wrote to the blob info cache:\nbefore %s\nafter  %s", empty, after)
	}
	open(true)
	found := false
	for _, c := range linkcache.Candidates(blobinfocache.DefaultCache(sys), dev, layer, "") {
		found = found || c == blobDir
	}
	if !found {
		t.Fatalf("layer %s not recorded at %s after the first copy", layer, blobDir)
	}
	before := snapshot(t, cacheDir)
	open(true)
	if after := snapshot(t, cacheDir); after != before {
		t.Fatalf("the second copy wrote to the cache:\nbefore %s\nafter  %s", before, after)
	}
}

// snapshot describes every file under dir by name, size and modification
// time, which any write changes.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var out string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		out += fmt.Sprintf("%s %d %s; ", p, fi.Size(), fi.ModTime().Format(time.RFC3339Nano))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
