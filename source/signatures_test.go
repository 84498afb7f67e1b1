package source_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/internal/layouttest"
	"github.com/ocilayout/ocilayout/simplesign"

	"github.com/ocilayout/ocilayout/layout"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/types"
)

// TestGetSignatures: the source returns the signatures stored for its
// manifest, in the order written, reading index.json again (so one added
// after the source was opened is seen, and an index.json gone bad since
// is an error, not an empty list).
func TestGetSignatures(t *testing.T) {
	ctx := context.Background()
	ref, _ := newImage(t, []byte("layer"))
	dir := strings.TrimSuffix(ref.StringWithinTransport(), ":app")
	src, err := ref.NewImageSource(ctx, &types.SystemContext{BlobInfoCacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	l, err := layout.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	entries, err := layouttest.List(l, ctx)
	if err != nil || len(entries) != 1 {
		t.Fatalf("List = %v, %v", entries, err)
	}
	want := [][]byte{[]byte("first signature"), []byte("second signature")}
	if err := simplesign.Add(ctx, l, imgspecv1.Descriptor{MediaType: entries[0].MediaType, Digest: entries[0].Digest, Size: entries[0].Size}, want); err != nil {
		t.Fatal(err)
	}
	got, err := src.GetSignatures(ctx, nil)
	if err != nil || !slices.EqualFunc(got, want, func(a, b []byte) bool { return string(a) == string(b) }) {
		t.Fatalf("GetSignatures = %q, %v; want %q", got, err, want)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := src.GetSignatures(ctx, nil); err == nil {
		t.Fatalf("GetSignatures over a broken index.json = %q, nil; want an error", got)
	}
}
