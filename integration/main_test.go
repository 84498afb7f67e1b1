package integration

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ocilayout/ocilayout/internal/layouttest"

	"github.com/ocilayout/ocilayout/internal/fixture"
	"github.com/ocilayout/ocilayout/layout"
	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// cliPath is the ocilayout binary TestMain builds once: the integration
// tests run it as real processes, so locking, crashes and exit codes are
// exercised exactly as a user meets them.
var cliPath string

func TestMain(m *testing.M) { os.Exit(fixture.RunWithCLI(m, "ocilayout-integration-", &cliPath)) }

// cliCommand prepares a run of the binary in a hermetic environment: HOME
// is a temp dir, so no user policy, auth file or registries.conf leaks in.
func cliCommand(t testing.TB, args ...string) *exec.Cmd {
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
func writeRandomImage(t testing.TB, dir, name string, spec imageSpec) digest.Digest {
	t.Helper()
	rng := rand.New(rand.NewPCG(spec.seed, 0x6f63696c61796f75))
	arch := spec.arch
	if arch == "" {
		arch = "amd64"
	}
	put := func(data []byte) digest.Digest { return fixture.WriteBlob(t, dir, data) }
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
		// Random bytes do not compress; NoCompression keeps generation cheap
		// while staying a valid gzip layer.
		tarStream, gz := fixture.TarGz(t, fmt.Sprintf("layer%d.bin", i), content, time.Unix(1700000000, 0), gzip.NoCompression)
		layers = append(layers, imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageLayerGzip, Digest: put(gz), Size: int64(len(gz))})
		diffIDs = append(diffIDs, digest.FromBytes(tarStream))
	}
	created := time.Unix(1700000000, 0).UTC()
	cfg := fixture.MustJSON(t, imgspecv1.Image{
		Created:  &created,
		Platform: imgspecv1.Platform{Architecture: arch, OS: "linux"},
		Config:   imgspecv1.ImageConfig{Env: []string{fmt.Sprintf("SEED=%d", spec.seed)}},
		RootFS:   imgspecv1.RootFS{Type: "layers", DiffIDs: diffIDs},
	})
	man := fixture.MustJSON(t, imgspecv1.Manifest{
		Versioned: imgspec.Versioned{SchemaVersion: 2},
		MediaType: imgspecv1.MediaTypeImageManifest,
		Config:    imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageConfig, Digest: put(cfg), Size: int64(len(cfg))},
		Layers:    layers,
	})
	md := put(man)

	idx := fixture.ReadIndex(t, dir)
	desc := imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest, Digest: md, Size: int64(len(man))}
	if name != "" {
		desc.Annotations = map[string]string{imgspecv1.AnnotationRefName: name}
	}
	idx.Manifests = append(idx.Manifests, desc)
	fixture.WriteIndex(t, dir, idx)
	return md
}

// checkLayout opens dir with layout.Open and verifies that index.json
// parses and that every entry's manifests (through nested indexes),
// configs and layers are present and match their descriptors. It returns
// the entries, in order, for the caller's own assertions.
func checkLayout(t *testing.T, dir string) []layouttest.Entry {
	t.Helper()
	if err := verifyLayout(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	l, err := layout.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	entries, err := layouttest.List(l, context.Background())
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
	case layouttest.IsIndex(d.MediaType):
		child, err := layouttest.ReadIndex(l, ctx, d)
		if err != nil {
			return err
		}
		for _, c := range child.Manifests {
			if err := verifyDescriptor(ctx, l, c); err != nil {
				return err
			}
		}
		return nil
	case d.MediaType == imgspecv1.MediaTypeImageManifest || d.MediaType == "application/vnd.docker.distribution.manifest.v2+json":
		m, err := layouttest.ReadManifest(l, ctx, d)
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
	r, _, err := l.BlobReader(ctx, d.Digest, d.Size)
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = io.Copy(io.Discard, r)
	return err
}

// tagsOf maps each ref.name in entries to its digest, failing on a name
// that appears twice (names are unique in an ocilayout-written layout).
func tagsOf(t *testing.T, entries []layouttest.Entry) map[string]digest.Digest {
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
