package source_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ocilayout/ocilayout/internal/layouttest"
	"github.com/ocilayout/ocilayout/internal/linkcache"

	"github.com/ocilayout/ocilayout/layout"
	"go.podman.io/image/v5/transports/alltransports"
	"go.podman.io/image/v5/types"
)

// TestLinkLocationsWhileOpen: a source offers where its large blobs live
// (so that a destination layout can link them) once copy.Image asks it for
// the layers to copy, withdraws them at Close, and writes nothing to the
// blob info cache at any point: opening a layout to read it (inspect)
// leaves no trace outside the layout.
func TestLinkLocationsWhileOpen(t *testing.T) {
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
	offered := func() bool { return slices.Contains(linkcache.Candidates(dev, layer, ""), blobDir) }
	empty := snapshot(t, cacheDir)

	src, err := ref.NewImageSource(ctx, sys)
	if err != nil {
		t.Fatal(err)
	}
	if offered() {
		t.Fatalf("layer %s offered for linking before a copy asked for it", layer)
	}
	if _, err := src.LayerInfosForCopy(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if !offered() {
		t.Fatalf("layer %s not offered at %s once a copy asked for the layers", layer, blobDir)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if offered() {
		t.Fatalf("layer %s still offered after the source closed", layer)
	}
	if after := snapshot(t, cacheDir); after != empty {
		t.Fatalf("the source wrote to the blob info cache:\nbefore %s\nafter  %s", empty, after)
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
