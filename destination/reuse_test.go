package destination_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/internal/layouttest"

	"github.com/ocilayout/ocilayout/internal/fixture"
	"github.com/ocilayout/ocilayout/layout"
	"github.com/ocilayout/ocilayout/reference"
	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/transports/alltransports"
	"go.podman.io/image/v5/types"
)

// putImage stores a manifest over a config and layers (random bytes, big
// enough to be linked) and returns its descriptor.
func putImage(t testing.TB, l *layout.Layout, arch string, layers ...[]byte) imgspecv1.Descriptor {
	t.Helper()
	ctx := context.Background()
	cfg := []byte(`{"architecture":"` + arch + `","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	cd, err := layouttest.PutBytes(l, ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := imgspecv1.Manifest{
		Versioned: imgspec.Versioned{SchemaVersion: 2},
		MediaType: imgspecv1.MediaTypeImageManifest,
		Config:    imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageConfig, Digest: cd, Size: int64(len(cfg))},
	}
	for _, data := range layers {
		d, err := layouttest.PutBytes(l, ctx, data)
		if err != nil {
			t.Fatal(err)
		}
		m.Layers = append(m.Layers, imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageLayerGzip, Digest: d, Size: int64(len(data))})
	}
	mb, _ := json.Marshal(m)
	md, err := layouttest.PutBytes(l, ctx, mb)
	if err != nil {
		t.Fatal(err)
	}
	return imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest, Digest: md, Size: int64(len(mb)),
		Platform: &imgspecv1.Platform{OS: "linux", Architecture: arch}}
}

// randomLayer returns a gzip stream (stored blocks) of random bytes, big
// enough to be linked: real gzip, so that copy.Image, when it streams the
// layer, keeps it as it is.
func randomLayer(t testing.TB) []byte {
	data := make([]byte, 200<<10)
	_, _ = rand.Read(data)
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.NoCompression)
	if _, err := zw.Write(data); err != nil || zw.Close() != nil {
		t.Fatal("gzip failed")
	}
	return buf.Bytes()
}

// oneLayerLayout creates a layout at dir holding one image, tagged "app",
// of one random layer big enough to be linked, and returns that layer.
func oneLayerLayout(t *testing.T, dir string) []byte {
	t.Helper()
	l, err := layout.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	layer := randomLayer(t)
	if err := layouttest.Tag(l, context.Background(), putImage(t, l, "amd64", layer), "app"); err != nil {
		t.Fatal(err)
	}
	return layer
}

// corrupt replaces the file at path (a read-only blob, say) with data
// with the byte at off flipped: same size, other content.
func corrupt(t *testing.T, path string, data []byte, off int) {
	t.Helper()
	bad := bytes.Clone(data)
	bad[off] ^= 0xff
	_ = os.Chmod(path, 0o644)
	if err := os.WriteFile(path, bad, 0o644); err != nil {
		t.Fatal(err)
	}
}

func runCopy(t testing.TB, src, dest types.ImageReference, srcSys, destSys *types.SystemContext, all bool) error {
	t.Helper()
	pc, err := signature.NewPolicyContext(&signature.Policy{Default: signature.PolicyRequirements{signature.NewPRInsecureAcceptAnything()}})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Destroy()
	opts := &copy.Options{SourceCtx: srcSys, DestinationCtx: destSys}
	if all {
		opts.ImageListSelection = copy.CopyAllImages
	}
	_, err = copy.Image(context.Background(), pc, dest, src, opts)
	return err
}

func TestCopyLinksBlobs(t *testing.T) {
	shared := []byte(nil)
	tests := []struct {
		name      string
		sharedSrc bool // source uses a shared blob directory
		sharedDst bool // destination uses another shared blob directory
		trusted   bool
		all       bool
	}{
		{name: "verified"},
		{name: "trusted", trusted: true},
		{name: "shared blob directories", sharedSrc: true, sharedDst: true},
		{name: "all images of an index, with a shared layer", all: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			base := t.TempDir()
			cache := filepath.Join(base, "cache")
			srcSys := &types.SystemContext{BlobInfoCacheDir: cache}
			destSys := &types.SystemContext{BlobInfoCacheDir: cache}
			var srcOpts []layout.Option
			if tc.sharedSrc {
				srcSys.OCISharedBlobDirPath = filepath.Join(base, "src-blobs")
				srcOpts = append(srcOpts, layout.WithSharedBlobDir(srcSys.OCISharedBlobDirPath))
			}
			if tc.sharedDst {
				destSys.OCISharedBlobDirPath = filepath.Join(base, "dst-blobs")
			}
			srcDir := filepath.Join(base, "src")
			l, err := layout.Create(srcDir, srcOpts...)
			if err != nil {
				t.Fatal(err)
			}
			shared = randomLayer(t)
			descs := []imgspecv1.Descriptor{putImage(t, l, "amd64", shared, randomLayer(t))}
			top := descs[0]
			if tc.all {
				descs = append(descs, putImage(t, l, "arm64", shared, randomLayer(t)))
				ib, _ := json.Marshal(imgspecv1.Index{Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageIndex, Manifests: descs})
				id, err := layouttest.PutBytes(l, ctx, ib)
				if err != nil {
					t.Fatal(err)
				}
				top = imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageIndex, Digest: id, Size: int64(len(ib))}
			}
			if err := layouttest.Tag(l, ctx, top, "app"); err != nil {
				t.Fatal(err)
			}
			srcBlobs, _, _ := l.BlobLocation()
			l.Close()

			srcRef, _ := reference.NewReference(srcDir, "app")
			destRef, _ := reference.NewReference(filepath.Join(base, "dst"), "copy")
			if tc.trusted {
				destRef = reference.With(destRef, reference.WithTrustedLinks())
			}
			if err := runCopy(t, srcRef, destRef, srcSys, destSys, tc.all); err != nil {
				t.Fatal(err)
			}
			dl, err := layout.Open(filepath.Join(base, "dst"), sharedOpt(destSys)...)
			if err != nil {
				t.Fatal(err)
			}
			defer dl.Close()
			dstBlobs, _, _ := dl.BlobLocation()
			clones, err := fixture.CanReflink(base)
			if err != nil {
				t.Fatal(err)
			}
			linked := 0
			for _, desc := range descs {
				m, err := layouttest.ReadManifest(dl, ctx, desc)
				if err != nil {
					t.Fatalf("source manifest not in the destination, so its layers were streamed: %v", err)
				}
				for _, layer := range m.Layers {
					p := filepath.Join("sha256", layer.Digest.Encoded())
					si, err1 := os.Stat(filepath.Join(srcBlobs, p))
					di, err2 := os.Stat(filepath.Join(dstBlobs, p))
					if err1 != nil || err2 != nil {
						t.Fatal(err1, err2)
					}
					if !clones && !os.SameFile(si, di) {
						t.Errorf("layer %s was copied, not linked", layer.Digest)
					}
					linked++
				}
			}
			if want := 2 * len(descs); linked != want {
				t.Fatalf("checked %d layers, want %d", linked, want)
			}
		})
	}
}

func sharedOpt(sys *types.SystemContext) []layout.Option {
	if sys.OCISharedBlobDirPath == "" {
		return nil
	}
	return []layout.Option{layout.WithSharedBlobDir(sys.OCISharedBlobDirPath)}
}

// A source blob corrupted in place (same size) must not land in the
// destination: the link is verified and dropped, the copy falls back to
// streaming, and copy.Image's digest check of the stream fails the copy.
func TestCopyRefusesCorruptLinkedBlob(t *testing.T) {
	base := t.TempDir()
	sys := &types.SystemContext{BlobInfoCacheDir: filepath.Join(base, "cache")}
	srcDir := filepath.Join(base, "src")
	layer := oneLayerLayout(t, srcDir)
	d := digest.FromBytes(layer)
	corrupt(t, filepath.Join(srcDir, "blobs", "sha256", d.Encoded()), layer, 0)
	srcRef, _ := reference.NewReference(srcDir, "app")
	destDir := filepath.Join(base, "dst")
	destRef, _ := reference.NewReference(destDir, "copy")
	err := runCopy(t, srcRef, destRef, sys, sys, false)
	if err == nil || !strings.Contains(err.Error(), d.Encoded()) {
		t.Fatalf("copy of a corrupt blob: err = %v, want an error naming %s", err, d)
	}
	if _, err := os.Stat(filepath.Join(destDir, "blobs", "sha256", d.Encoded())); !os.IsNotExist(err) {
		t.Fatalf("corrupt blob landed in the destination (stat: %v)", err)
	}
}

// A location in the cache that has gone bad (here: a layout whose blob was
// altered after it was recorded) is not fatal: the verified link is
// dropped and the blob is streamed from the real source, a dir: image.
func TestCopyFallsBackFromCorruptLocation(t *testing.T) {
	base := t.TempDir()
	sys := &types.SystemContext{BlobInfoCacheDir: filepath.Join(base, "cache")}
	staleDir := filepath.Join(base, "stale")
	layer := oneLayerLayout(t, staleDir)
	staleRef, _ := reference.NewReference(staleDir, "app")
	dirRef, err := alltransports.ParseImageName("dir:" + filepath.Join(base, "dir"))
	if err != nil {
		t.Fatal(err)
	}
	if err := runCopy(t, staleRef, dirRef, sys, sys, false); err != nil { // records staleDir in the cache
		t.Fatal(err)
	}
	d := digest.FromBytes(layer)
	corrupt(t, filepath.Join(staleDir, "blobs", "sha256", d.Encoded()), layer, len(layer)/2)
	destDir := filepath.Join(base, "dst")
	destRef, _ := reference.NewReference(destDir, "copy")
	if err := runCopy(t, dirRef, destRef, sys, sys, false); err != nil {
		t.Fatalf("copy from dir: with a corrupt cached location: %v", err)
	}
	got, err := os.ReadFile(filepath.Join(destDir, "blobs", "sha256", d.Encoded()))
	if err != nil || !bytes.Equal(got, layer) {
		t.Fatalf("destination layer: err %v, content intact %v", err, bytes.Equal(got, layer))
	}
}
