package source_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ocilayout/ocilayout/layout"
	"github.com/ocilayout/ocilayout/source"
	"go.podman.io/image/v5/pkg/blobinfocache"
	"go.podman.io/image/v5/transports/alltransports"
	"go.podman.io/image/v5/types"
)

// TestRecordLocationsOnce: opening a layout as a source records where its
// large blobs live in the blob info cache (so that a destination layout can
// link them), and opening it again finds them there and writes nothing:
// the fsync'd SQLite writes are paid once per layout, not per copy.
func TestRecordLocationsOnce(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "src")
	l, err := layout.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	big := make([]byte, 2*source.MinLinkSize) // random: gzip keeps it large
	_, _ = rand.Read(big)
	desc, layer := putImage(t, l, "amd64", string(big))
	if err := l.AddManifest(ctx, desc, "app"); err != nil {
		t.Fatal(err)
	}
	blobDir, dev, err := l.BlobDirLocation()
	if err != nil {
		t.Fatal(err)
	}
	cacheDir := t.TempDir()
	sys := &types.SystemContext{BlobInfoCacheDir: cacheDir}
	ref, err := alltransports.ParseImageName("oci-layout:" + dir + ":app")
	if err != nil {
		t.Fatal(err)
	}
	open := func() {
		src, err := ref.NewImageSource(ctx, sys)
		if err != nil {
			t.Fatal(err)
		}
		src.Close()
	}

	open()
	found := false
	for _, c := range blobinfocache.DefaultCache(sys).CandidateLocations(source.CacheTransport(), source.CacheScope(dev), layer, false) {
		found = found || c.Location.Opaque == blobDir
	}
	if !found {
		t.Fatalf("layer %s not recorded at %s after the first open", layer, blobDir)
	}
	before := snapshot(t, cacheDir)
	open()
	if after := snapshot(t, cacheDir); after != before {
		t.Fatalf("the second open wrote to the cache:\nbefore %s\nafter  %s", before, after)
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
