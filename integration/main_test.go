package integration

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/ocilayout/ocilayout/layout"
	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// cliPath is the ocilayout binary TestMain builds once: the integration
// tests run it as real processes, so locking, crashes and exit codes are
// exercised exactly as a user meets them.
var cliPath string

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "ocilayout-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	cliPath = filepath.Join(dir, "ocilayout")
	if err := buildCLI(cliPath); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// buildCLI builds cmd/ocilayout with the -tags (and -race) this test binary
// was built with, so the tag list lives only in the Makefile.
func buildCLI(out string) error {
	args := []string{"build", "-o", out}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch {
			case s.Key == "-tags" && s.Value != "":
				args = append(args, "-tags", s.Value)
			case s.Key == "-race" && s.Value == "true":
				args = append(args, "-race")
			}
		}
	}
	args = append(args, "github.com/ocilayout/ocilayout/cmd/ocilayout")
	cmd := exec.Command("go", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return nil
}

// cliCommand prepares a run of the binary in a hermetic environment: HOME
// is a temp dir, so no user policy, auth file or registries.conf leaks in.
func cliCommand(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(cliPath, args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "XDG_CONFIG_HOME=", "XDG_RUNTIME_DIR=")
	return cmd
}

// runCLI runs the binary to completion and returns its stdout, stderr and
// error (an *exec.ExitError for a non-zero exit).
func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := cliCommand(t, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// mustRunCLI runs the binary and fails the test on a non-zero exit.
func mustRunCLI(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr, err := runCLI(t, args...)
	if err != nil {
		t.Fatalf("ocilayout %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr)
	}
	return stdout
}

// imageSpec describes a random image: layers gzip streams of layerSize
// random bytes each, generated from seed so that a failure can be replayed.
type imageSpec struct {
	seed      uint64
	layers    int
	layerSize int
	arch      string // "" for amd64
}

// writeRandomImage writes an image made from spec into the OCI layout at dir
// under name, with plain file writes (no ocilayout code), so that the
// layout is what the built-in oci: transport or any other tool would read.
// A missing layout is created; an existing one gets the image appended to
// index.json. It returns the manifest's digest.
func writeRandomImage(t *testing.T, dir, name string, spec imageSpec) digest.Digest {
	t.Helper()
	rng := rand.New(rand.NewPCG(spec.seed, 0x6f63696c61796f75))
	arch := spec.arch
	if arch == "" {
		arch = "amd64"
	}
	put := func(data []byte) digest.Digest {
		d := digest.FromBytes(data)
		writeTestFile(t, filepath.Join(dir, "blobs", d.Algorithm().String(), d.Encoded()), data)
		return d
	}
	var layers []imgspecv1.Descriptor
	var diffIDs []digest.Digest
	for i := range spec.layers {
		content := make([]byte, spec.layerSize)
		for j := 0; j+8 <= len(content); j += 8 {
			v := rng.Uint64()
			for k := range 8 {
				content[j+k] = byte(v >> (8 * k))
			}
		}
		var tb bytes.Buffer
		tw := tar.NewWriter(&tb)
		hdr := &tar.Header{Name: fmt.Sprintf("layer%d.bin", i), Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(1700000000, 0), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(content); err != nil {
			t.Fatal(err)
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		var gz bytes.Buffer
		// Random bytes do not compress; NoCompression keeps generation cheap
		// while staying a valid gzip layer.
		zw, _ := gzip.NewWriterLevel(&gz, gzip.NoCompression)
		if _, err := zw.Write(tb.Bytes()); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		layers = append(layers, imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageLayerGzip, Digest: put(gz.Bytes()), Size: int64(gz.Len())})
		diffIDs = append(diffIDs, digest.FromBytes(tb.Bytes()))
	}
	created := time.Unix(1700000000, 0).UTC()
	cfg := mustJSON(t, imgspecv1.Image{
		Created:  &created,
		Platform: imgspecv1.Platform{Architecture: arch, OS: "linux"},
		Config:   imgspecv1.ImageConfig{Env: []string{fmt.Sprintf("SEED=%d", spec.seed)}},
		RootFS:   imgspecv1.RootFS{Type: "layers", DiffIDs: diffIDs},
	})
	man := mustJSON(t, imgspecv1.Manifest{
		Versioned: imgspec.Versioned{SchemaVersion: 2},
		MediaType: imgspecv1.MediaTypeImageManifest,
		Config:    imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageConfig, Digest: put(cfg), Size: int64(len(cfg))},
		Layers:    layers,
	})
	md := put(man)

	idx := imgspecv1.Index{Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageIndex}
	if data, err := os.ReadFile(filepath.Join(dir, "index.json")); err == nil {
		if err := json.Unmarshal(data, &idx); err != nil {
			t.Fatalf("parsing %s/index.json: %v", dir, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	desc := imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest, Digest: md, Size: int64(len(man))}
	if name != "" {
		desc.Annotations = map[string]string{imgspecv1.AnnotationRefName: name}
	}
	idx.Manifests = append(idx.Manifests, desc)
	writeTestFile(t, filepath.Join(dir, imgspecv1.ImageLayoutFile), []byte(`{"imageLayoutVersion":"1.0.0"}`))
	writeTestFile(t, filepath.Join(dir, "index.json"), mustJSON(t, idx))
	return md
}

func writeTestFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkLayout opens dir with layout.Open and verifies that index.json
// parses and that every entry's manifests (through nested indexes),
// configs and layers are present and match their descriptors. It returns
// the entries, in order, for the caller's own assertions.
func checkLayout(t *testing.T, dir string) []layout.Entry {
	t.Helper()
	if err := verifyLayout(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	l, err := layout.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	entries, err := l.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// verifyLayout is checkLayout's error-returning core.
func verifyLayout(ctx context.Context, dir string) error {
	l, err := layout.Open(dir)
	if err != nil {
		return err
	}
	defer l.Close()
	idx, err := l.Index(ctx)
	if err != nil {
		return err
	}
	for _, d := range idx.Manifests {
		if err := verifyDescriptor(ctx, l, d); err != nil {
			return fmt.Errorf("entry %s (%q) of %s: %w", d.Digest, d.Annotations[imgspecv1.AnnotationRefName], dir, err)
		}
	}
	return nil
}

func verifyDescriptor(ctx context.Context, l *layout.Layout, d imgspecv1.Descriptor) error {
	switch {
	case layout.IsIndexMediaType(d.MediaType):
		child, err := l.ReadIndexBlob(ctx, d)
		if err != nil {
			return err
		}
		for _, c := range child.Manifests {
			if err := verifyDescriptor(ctx, l, c); err != nil {
				return err
			}
		}
		return nil
	case d.MediaType == imgspecv1.MediaTypeImageManifest || d.MediaType == layout.MediaTypeDockerManifest:
		m, err := l.ReadManifestBlob(ctx, d)
		if err != nil {
			return err
		}
		if _, err := l.ReadBlob(ctx, m.Config.Digest, m.Config.Size); err != nil {
			return fmt.Errorf("config: %w", err)
		}
		for _, layer := range m.Layers {
			if err := verifyStream(ctx, l, layer); err != nil {
				return fmt.Errorf("layer: %w", err)
			}
		}
		return nil
	}
	return verifyStream(ctx, l, d)
}

// verifyStream reads a blob of any size to EOF through the verifying reader.
func verifyStream(ctx context.Context, l *layout.Layout, d imgspecv1.Descriptor) error {
	f, err := l.OpenBlob(ctx, d.Digest)
	if err != nil {
		return err
	}
	r := layout.VerifyingReader(f, d.Digest, d.Size, true, l.Dir())
	defer r.Close()
	_, err = io.Copy(io.Discard, r)
	return err
}

// tagsOf maps each ref.name in entries to its digest, failing on a name
// that appears twice (names are unique in an ocilayout-written layout).
func tagsOf(t *testing.T, entries []layout.Entry) map[string]digest.Digest {
	t.Helper()
	tags := map[string]digest.Digest{}
	for _, e := range entries {
		if e.Name == "" {
			continue
		}
		if _, dup := tags[e.Name]; dup {
			t.Errorf("name %q appears on more than one index.json entry", e.Name)
		}
		tags[e.Name] = e.Digest
	}
	return tags
}
