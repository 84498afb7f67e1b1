package source_test

import (
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ocilayout/ocilayout/internal/layouttest"

	testfixture "github.com/ocilayout/ocilayout/internal/fixture"
	"github.com/ocilayout/ocilayout/layout"
	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/transports/alltransports"
	"go.podman.io/image/v5/types"

	_ "github.com/ocilayout/ocilayout/transport" // registers oci-layout:
)

// fixture is a source layout holding:
//
//	@0 "amd"   an amd64 image
//	@1 "multi" an index of the amd64 image and an arm64 image (which is
//	           in no top-level entry of its own)
type fixture struct {
	dir             string
	amd, arm, multi imgspecv1.Descriptor
	amdLayer        digest.Digest
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	ctx := context.Background()
	f := fixture{dir: filepath.Join(t.TempDir(), "src")}
	l, err := layout.Create(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	f.amd, f.amdLayer = putImage(t, l, "amd64", "amd64 content")
	f.arm, _ = putImage(t, l, "arm64", "arm64 content")
	amdP, armP := f.amd, f.arm
	amdP.Platform = &imgspecv1.Platform{OS: "linux", Architecture: "amd64"}
	armP.Platform = &imgspecv1.Platform{OS: "linux", Architecture: "arm64"}
	idx := testfixture.MustJSON(t, imgspecv1.Index{Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageIndex, Manifests: []imgspecv1.Descriptor{amdP, armP}})
	f.multi = putBlob(t, l, imgspecv1.MediaTypeImageIndex, idx)
	if err := layouttest.Tag(l, ctx, f.amd, "amd"); err != nil {
		t.Fatal(err)
	}
	if err := layouttest.Tag(l, ctx, f.multi, "multi"); err != nil {
		t.Fatal(err)
	}
	return f
}

// putImage stores a one-layer image for arch and returns its manifest
// descriptor and its layer's digest.
func putImage(t *testing.T, l *layout.Layout, arch, content string) (imgspecv1.Descriptor, digest.Digest) {
	t.Helper()
	tarStream, gz := testfixture.TarGz(t, "f", []byte(content), time.Time{}, gzip.DefaultCompression)
	layer := putBlob(t, l, imgspecv1.MediaTypeImageLayerGzip, gz)
	cfg := putBlob(t, l, imgspecv1.MediaTypeImageConfig, testfixture.MustJSON(t, imgspecv1.Image{
		Platform: imgspecv1.Platform{OS: "linux", Architecture: arch},
		RootFS:   imgspecv1.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromBytes(tarStream)}},
	}))
	m := testfixture.MustJSON(t, imgspecv1.Manifest{Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageManifest, Config: cfg, Layers: []imgspecv1.Descriptor{layer}})
	return putBlob(t, l, imgspecv1.MediaTypeImageManifest, m), layer.Digest
}

func putBlob(t *testing.T, l *layout.Layout, mt string, data []byte) imgspecv1.Descriptor {
	t.Helper()
	d, err := layouttest.PutBytes(l, context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	return imgspecv1.Descriptor{MediaType: mt, Digest: d, Size: int64(len(data))}
}

// copyImage runs copy.Image in-process between two transport:name
// references with an accept-anything policy.
func copyImage(t *testing.T, src, dst string, opts *copy.Options) ([]byte, error) {
	t.Helper()
	srcRef, err := alltransports.ParseImageName(src)
	if err != nil {
		t.Fatal(err)
	}
	dstRef, err := alltransports.ParseImageName(dst)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := signature.NewPolicyContext(&signature.Policy{Default: []signature.PolicyRequirement{signature.NewPRInsecureAcceptAnything()}})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Destroy()
	if opts == nil {
		opts = &copy.Options{}
	}
	return copy.Image(context.Background(), pc, dstRef, srcRef, opts)
}

// tagged opens dir and returns the entry named name, after verifying
// every blob the layout references.
func tagged(t *testing.T, dir, name string) layouttest.Entry {
	t.Helper()
	l, err := layout.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	entries, err := layouttest.List(l, context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name == name {
			return e
		}
	}
	t.Fatalf("%s has no entry named %q: %+v", dir, name, entries)
	return layouttest.Entry{}
}

// TestCopySelectors copies out of the fixture with each kind of selector
// and checks which manifest arrived.
func TestCopySelectors(t *testing.T) {
	f := newFixture(t)
	single := filepath.Join(t.TempDir(), "single")
	sl, err := layout.Create(single)
	if err != nil {
		t.Fatal(err)
	}
	one, _ := putImage(t, sl, "amd64", "only one")
	if err := layouttest.Tag(sl, context.Background(), one, ""); err != nil {
		t.Fatal(err)
	}
	sl.Close()

	for _, tc := range []struct {
		name string
		src  string
		sys  *types.SystemContext
		all  bool
		want digest.Digest
	}{
		{name: "by name", src: f.dir + ":amd", want: f.amd.Digest},
		{name: "by position", src: f.dir + ":@0", want: f.amd.Digest},
		{name: "by digest of a top-level entry", src: f.dir + ":@" + f.amd.Digest.String(), want: f.amd.Digest},
		{name: "by digest of a nested instance", src: f.dir + ":@" + f.arm.Digest.String(), want: f.arm.Digest},
		{name: "no selector, one entry", src: single, want: one.Digest},
		{name: "index, platform choice", src: f.dir + ":multi", sys: &types.SystemContext{ArchitectureChoice: "arm64", OSChoice: "linux"}, want: f.arm.Digest},
		{name: "index, all images", src: f.dir + ":multi", all: true, want: f.multi.Digest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "dst")
			opts := &copy.Options{SourceCtx: tc.sys}
			if tc.all {
				opts.ImageListSelection = copy.CopyAllImages
			}
			if _, err := copyImage(t, "oci-layout:"+tc.src, "oci-layout:"+dst+":out", opts); err != nil {
				t.Fatal(err)
			}
			e := tagged(t, dst, "out")
			if e.Digest != tc.want {
				t.Errorf("copied %s, want %s", e.Digest, tc.want)
			}
			if tc.all {
				l, _ := layout.Open(dst)
				defer l.Close()
				idx, err := layouttest.ReadIndex(l, context.Background(), imgspecv1.Descriptor{Digest: e.Digest, Size: e.Size})
				if err != nil {
					t.Fatal(err)
				}
				wantArch := map[digest.Digest]string{f.amd.Digest: "amd64", f.arm.Digest: "arm64"}
				for _, inst := range idx.Manifests {
					if inst.Platform == nil || inst.Platform.Architecture != wantArch[inst.Digest] {
						t.Errorf("instance %s has platform %+v in the copied index, want %s", inst.Digest, inst.Platform, wantArch[inst.Digest])
					}
					if _, err := layouttest.ReadManifest(l, context.Background(), inst); err != nil {
						t.Errorf("instance %s not copied with --all: %v", inst.Digest, err)
					}
				}
				if len(idx.Manifests) != 2 {
					t.Errorf("copied index has %d instances, want 2", len(idx.Manifests))
				}
			}
		})
	}
}

// TestCopyAmbiguousSource: with several images and no selector, opening
// the source fails and names the choices.
func TestCopyAmbiguousSource(t *testing.T) {
	f := newFixture(t)
	_, err := copyImage(t, "oci-layout:"+f.dir, "oci-layout:"+filepath.Join(t.TempDir(), "dst"), nil)
	if err == nil || !strings.Contains(err.Error(), "amd") || !strings.Contains(err.Error(), "multi") {
		t.Fatalf("copy from an ambiguous layout = %v; want an error naming amd and multi", err)
	}
}

// TestCopySharedBlobDir writes an image into a layout whose blobs live in
// a shared directory and reads it back from there.
func TestCopySharedBlobDir(t *testing.T) {
	f := newFixture(t)
	base := t.TempDir()
	shared, mid, out := filepath.Join(base, "shared"), filepath.Join(base, "mid"), filepath.Join(base, "out")
	if _, err := copyImage(t, "oci-layout:"+f.dir+":amd", "oci-layout:"+mid+":amd", &copy.Options{DestinationCtx: &types.SystemContext{OCISharedBlobDirPath: shared}}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(shared, "sha256", f.amdLayer.Encoded())); err != nil {
		t.Errorf("layer not in the shared blob directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(mid, "blobs", "sha256", f.amdLayer.Encoded())); err == nil {
		t.Errorf("layer written to the layout's own blobs/ despite a shared blob directory")
	}
	if _, err := copyImage(t, "oci-layout:"+mid+":amd", "oci-layout:"+out+":amd", &copy.Options{SourceCtx: &types.SystemContext{OCISharedBlobDirPath: shared}}); err != nil {
		t.Fatal(err)
	}
	if got := tagged(t, out, "amd").Digest; got != f.amd.Digest {
		t.Errorf("shared-dir round trip gave %s, want %s", got, f.amd.Digest)
	}
	// Without the shared directory the middle layout has no blobs to give.
	if _, err := copyImage(t, "oci-layout:"+mid+":amd", "oci-layout:"+filepath.Join(base, "out2"), nil); err == nil {
		t.Error("reading a shared-dir layout without OCISharedBlobDirPath succeeded")
	}
}

// TestCopyCorruptBlobFails flips a byte of a layer and of a manifest: the
// copy must fail, naming the digest.
func TestCopyCorruptBlobFails(t *testing.T) {
	for _, tc := range []struct {
		name   string
		victim func(f fixture) digest.Digest
	}{
		{"layer", func(f fixture) digest.Digest { return f.amdLayer }},
		{"manifest", func(f fixture) digest.Digest { return f.amd.Digest }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			d := tc.victim(f)
			p := filepath.Join(f.dir, "blobs", "sha256", d.Encoded())
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			data[len(data)/2] ^= 0x40
			os.Chmod(p, 0o644)
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = copyImage(t, "oci-layout:"+f.dir+":amd", "oci-layout:"+filepath.Join(t.TempDir(), "dst")+":amd", nil)
			if err == nil || !strings.Contains(err.Error(), d.Encoded()) {
				t.Fatalf("copy of a corrupt %s = %v; want an error naming %s", tc.name, err, d)
			}
		})
	}
}

// TestHasThreadSafeGetBlob: the source lets copy.Image read layers in
// parallel.
func TestHasThreadSafeGetBlob(t *testing.T) {
	f := newFixture(t)
	ref, err := alltransports.ParseImageName("oci-layout:" + f.dir + ":amd")
	if err != nil {
		t.Fatal(err)
	}
	src, err := ref.NewImageSource(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if !src.HasThreadSafeGetBlob() {
		t.Error("HasThreadSafeGetBlob is false")
	}
}
