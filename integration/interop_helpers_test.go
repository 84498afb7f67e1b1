package integration

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ocilayout/ocilayout/internal/layouttest"

	"github.com/klauspost/compress/zstd"
	"github.com/ocilayout/ocilayout/internal/fixture"
	"github.com/ocilayout/ocilayout/layout"
	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/transports/alltransports"
	"go.podman.io/image/v5/types"
)

// ioLayer is one layer of a test image: the files it holds and how its
// tar stream is compressed ("gzip", "zstd" or "none"). Layers are built
// deterministically, so the same ioLayer yields the same blob in every
// image: that is how tests make images that share layers.
type ioLayer struct {
	files map[string]string
	comp  string
}

// ioLayerBlob returns the layer's blob, its media type and its diffID.
func ioLayerBlob(t *testing.T, l ioLayer) ([]byte, string, digest.Digest) {
	t.Helper()
	names := make([]string, 0, len(l.files))
	for n := range l.files {
		names = append(names, n)
	}
	sort.Strings(names)
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, n := range names {
		hdr := &tar.Header{Name: n, Mode: 0o644, Size: int64(len(l.files[n])), ModTime: time.Unix(1700000000, 0), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, l.files[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	diffID := digest.FromBytes(tb.Bytes())
	var out bytes.Buffer
	switch l.comp {
	case "", "gzip":
		return fixture.Gzip(t, tb.Bytes(), gzip.DefaultCompression), imgspecv1.MediaTypeImageLayerGzip, diffID
	case "zstd":
		zw, err := zstd.NewWriter(&out)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := zw.Write(tb.Bytes()); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return out.Bytes(), imgspecv1.MediaTypeImageLayerZstd, diffID
	case "none":
		return tb.Bytes(), imgspecv1.MediaTypeImageLayer, diffID
	}
	t.Fatalf("unknown layer compression %q", l.comp)
	return nil, "", ""
}

// ioWriteImage stores an image made of layers in the layout at dir (created
// if missing) through the layout engine and tags it name ("" leaves it
// untagged, for an index to refer to). It returns the manifest descriptor.
func ioWriteImage(t *testing.T, dir, name, arch string, layers []ioLayer) imgspecv1.Descriptor {
	t.Helper()
	ctx := context.Background()
	l, err := layout.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	put := func(mt string, data []byte) imgspecv1.Descriptor {
		d, err := layouttest.PutBytes(l, ctx, data)
		if err != nil {
			t.Fatal(err)
		}
		return imgspecv1.Descriptor{MediaType: mt, Digest: d, Size: int64(len(data))}
	}
	var descs []imgspecv1.Descriptor
	var diffIDs []digest.Digest
	for _, layer := range layers {
		blob, mt, diffID := ioLayerBlob(t, layer)
		descs = append(descs, put(mt, blob))
		diffIDs = append(diffIDs, diffID)
	}
	created := time.Unix(1700000000, 0).UTC()
	cfg := fixture.MustJSON(t, imgspecv1.Image{
		Created:  &created,
		Platform: imgspecv1.Platform{Architecture: arch, OS: "linux"},
		Config:   imgspecv1.ImageConfig{Cmd: []string{"/bin/true"}},
		RootFS:   imgspecv1.RootFS{Type: "layers", DiffIDs: diffIDs},
	})
	man := fixture.MustJSON(t, imgspecv1.Manifest{
		Versioned: imgspec.Versioned{SchemaVersion: 2},
		MediaType: imgspecv1.MediaTypeImageManifest,
		Config:    put(imgspecv1.MediaTypeImageConfig, cfg),
		Layers:    descs,
	})
	md := put(imgspecv1.MediaTypeImageManifest, man)
	md.Platform = &imgspecv1.Platform{Architecture: arch, OS: "linux"}
	if name != "" {
		if err := layouttest.Tag(l, ctx, md, name); err != nil {
			t.Fatal(err)
		}
	}
	return md
}

// ioWriteIndex stores an image index over instances in the layout at dir
// and tags it name; it returns the index digest.
func ioWriteIndex(t *testing.T, dir, name string, instances []imgspecv1.Descriptor) digest.Digest {
	t.Helper()
	ctx := context.Background()
	l, err := layout.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	idx := imgspecv1.Index{Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageIndex, Manifests: instances}
	data := fixture.MustJSON(t, idx)
	d, err := layouttest.PutBytes(l, ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	if err := layouttest.Tag(l, ctx, imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageIndex, Digest: d, Size: int64(len(data))}, name); err != nil {
		t.Fatal(err)
	}
	return d
}

// ioCopy runs copy.Image in-process, accepting any image, and fails the
// test with both references on error. It returns the manifest written.
func ioCopy(t *testing.T, src, dst string, opts *copy.Options) []byte {
	t.Helper()
	man, err := ioTryCopy(t, src, dst, opts)
	if err != nil {
		t.Fatalf("copy.Image %s → %s: %v", src, dst, err)
	}
	return man
}

func ioTryCopy(t *testing.T, src, dst string, opts *copy.Options) ([]byte, error) {
	t.Helper()
	srcRef, err := alltransports.ParseImageName(src)
	if err != nil {
		t.Fatalf("parsing %s: %v", src, err)
	}
	dstRef, err := alltransports.ParseImageName(dst)
	if err != nil {
		t.Fatalf("parsing %s: %v", dst, err)
	}
	return ioCopyRefs(t, srcRef, dstRef, opts)
}

// ioCopyRefs is ioTryCopy for references that cannot be spelled as a
// string (a containers-storage: reference bound to an open store).
func ioCopyRefs(t *testing.T, srcRef, dstRef types.ImageReference, opts *copy.Options) ([]byte, error) {
	t.Helper()
	pc, err := signature.NewPolicyContext(acceptAnything(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Destroy()
	if opts == nil {
		opts = &copy.Options{}
	}
	if opts.SourceCtx == nil {
		opts.SourceCtx = ioSystemContext(t)
	}
	if opts.DestinationCtx == nil {
		opts.DestinationCtx = ioSystemContext(t)
	}
	return copy.Image(context.Background(), pc, dstRef, srcRef, opts)
}

// ioSystemContext keeps the blob info cache and registry configuration
// inside the test's temp dir (no state shared between tests or with the
// user) and talks plain HTTP to the loopback registry.
func ioSystemContext(t *testing.T) *types.SystemContext {
	conf := filepath.Join(t.TempDir(), "registries.conf")
	fixture.WriteFile(t, conf, nil)
	return &types.SystemContext{
		AuthFilePath:                filepath.Join(t.TempDir(), "auth.json"),
		BlobInfoCacheDir:            t.TempDir(),
		SystemRegistriesConfPath:    conf,
		SystemRegistriesConfDirPath: t.TempDir(),
		DockerInsecureSkipTLSVerify: types.OptionalBoolTrue,
	}
}

// ioTool finds an external tool. Missing tools skip the test on a
// developer's machine but fail it when CI=true: interop must never pass
// in CI by not running.
func ioTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed (CI=true, so this is a failure): run make interop, which installs it", name)
		}
		t.Skipf("%s is not installed; make interop installs it", name)
	}
	return p
}

// ioRun runs an external tool and fails the test naming the tool, the
// command line and its output.
func ioRun(t *testing.T, tool string, args ...string) string {
	t.Helper()
	out, err := ioTryRun(t, tool, args...)
	if err != nil {
		t.Fatalf("%s failed: %s %s: %v\noutput:\n%s", filepath.Base(tool), tool, strings.Join(args, " "), err, out)
	}
	return out
}

func ioTryRun(t *testing.T, tool string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(tool, args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "XDG_CONFIG_HOME=", "XDG_RUNTIME_DIR=")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// ioCopyCLI runs `ocilayout copy --quiet --insecure-policy` with extra flags.
func ioCopyCLI(t *testing.T, src, dst string, flags ...string) {
	t.Helper()
	args := append(append([]string{"copy", "--quiet", "--insecure-policy"}, flags...), src, dst)
	mustRunCLI(t, args...)
}

// ioVerifyCLI runs `ocilayout verify` and fails the test with its report.
func ioVerifyCLI(t *testing.T, dir string) {
	t.Helper()
	stdout, stderr, err := runCLI(t, "verify", dir)
	if err != nil {
		t.Fatalf("ocilayout verify %s: %v\nstdout:\n%s\nstderr:\n%s", dir, err, stdout, stderr)
	}
}

// ioSHA256File hashes a file, for checks that must not trust any of the
// code under test.
func ioSHA256File(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ioTag returns the digest of the entry named name in dir (an ocilayout
// layout), failing if there is none.
func ioTag(t *testing.T, dir, name string) digest.Digest {
	t.Helper()
	d, ok := tagsOf(t, checkLayout(t, dir))[name]
	if !ok {
		t.Fatalf("%s has no image named %q", dir, name)
	}
	return d
}

func ioMust(t *testing.T, err error, what string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}

// ioLayerFiles unpacks a layer blob of the layout at dir (gzip, zstd or
// plain tar, told apart by magic bytes, not by media type, so that a
// mislabelled layer is caught) into a name → content map.
func ioLayerFiles(t *testing.T, dir string, d imgspecv1.Descriptor) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "blobs", d.Digest.Algorithm().String(), d.Digest.Encoded()))
	ioMust(t, err, "reading layer %s of %s", d.Digest, dir)
	return ioTarFiles(t, data, fmt.Sprintf("layer %s of %s", d.Digest, dir))
}

func ioTarFiles(t *testing.T, data []byte, what string) map[string]string {
	t.Helper()
	var r io.Reader = bytes.NewReader(data)
	switch {
	case bytes.HasPrefix(data, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(r)
		ioMust(t, err, "gunzip %s", what)
		r = zr
	case bytes.HasPrefix(data, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(r)
		ioMust(t, err, "zstd %s", what)
		defer zr.Close()
		r = zr
	}
	files := map[string]string{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return files
		}
		ioMust(t, err, "reading tar of %s", what)
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		ioMust(t, err, "reading %s in %s", hdr.Name, what)
		files[hdr.Name] = string(b)
	}
}
