package integration

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/manifest"
)

// TestArchivesRoundTrip copies a layout image out to dir:, oci-archive:
// and docker-archive: with the CLI and back in with copy.Image. dir: and
// oci-archive: keep every byte (same manifest digest, --preserve-digests);
// docker-archive: stores Docker schema2 with uncompressed layers, so only
// the config (the image ID) and the files survive, which is what it
// promises.
func TestArchivesRoundTrip(t *testing.T) {
	tmp := t.TempDir()
	src := filepath.Join(tmp, "src")
	want := ioWriteImage(t, src, "app", "amd64", []ioLayer{
		{files: map[string]string{"etc/motd": "archives\n"}},
		{files: map[string]string{"app/data": "payload"}, comp: "zstd"},
	})
	_, wantMan := ioLayoutManifest(t, src, "app")
	for _, tc := range []struct {
		name     string
		ref      func(dir string) string
		sameHash bool
	}{
		{"dir", func(d string) string { return "dir:" + d }, true},
		{"oci-archive", func(d string) string { return "oci-archive:" + d + ".tar:app" }, true},
		// docker-archive cannot carry zstd: it stores uncompressed layers.
		{"docker-archive", func(d string) string { return "docker-archive:" + d + ".tar:localhost/app:v1" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			mid, back := tc.ref(filepath.Join(dir, "mid")), filepath.Join(dir, "back")
			var flags []string
			if tc.sameHash {
				flags = []string{"--preserve-digests"}
			}
			ioCopyCLI(t, "oci-layout:"+src+":app", mid, flags...)
			ioCopy(t, mid, "oci-layout:"+back+":app", &copy.Options{PreserveDigests: tc.sameHash})
			ioVerifyCLI(t, back)
			got := ioTag(t, back, "app")
			if tc.sameHash && got != want.Digest {
				t.Errorf("%s round trip changed the manifest: %s → %s", tc.name, want.Digest, got)
			}
			_, gotMan := ioLayoutManifest(t, back, "app")
			if gotMan.Config.Digest != wantMan.Config.Digest {
				t.Errorf("%s round trip changed the config (image ID): %s → %s", tc.name, wantMan.Config.Digest, gotMan.Config.Digest)
			}
			ioSameFiles(t, src, wantMan, back, gotMan)
		})
	}
}

// ioSameFiles fails unless two manifests' layers hold the same files.
func ioSameFiles(t *testing.T, wantDir string, want *imgspecv1.Manifest, gotDir string, got *imgspecv1.Manifest) {
	t.Helper()
	if len(got.Layers) != len(want.Layers) {
		t.Fatalf("%d layers, want %d", len(got.Layers), len(want.Layers))
	}
	for i := range want.Layers {
		w, g := ioLayerFiles(t, wantDir, want.Layers[i]), ioLayerFiles(t, gotDir, got.Layers[i])
		if fmt.Sprint(g) != fmt.Sprint(w) {
			t.Errorf("layer %d holds %v, want %v", i, g, w)
		}
	}
}

// TestCompressionFormats: gzip, zstd and uncompressed layers pass
// through a layout untouched; --dest-compress-format zstd writes zstd
// layers into a layout; --format v2s2 converts a layout image to Docker
// schema2 on the way out.
func TestCompressionFormats(t *testing.T) {
	tmp := t.TempDir()
	src := filepath.Join(tmp, "src")
	mixed := []ioLayer{
		{files: map[string]string{"gzip.txt": "g"}, comp: "gzip"},
		{files: map[string]string{"zstd.txt": "z"}, comp: "zstd"},
		{files: map[string]string{"plain.txt": "p"}, comp: "none"},
	}
	want := ioWriteImage(t, src, "mixed", "amd64", mixed)
	ioWriteImage(t, src, "gzip", "amd64", []ioLayer{mixed[0], {files: map[string]string{"more.txt": "m"}}})
	_, mixedMan := ioLayoutManifest(t, src, "mixed")
	_, gzipMan := ioLayoutManifest(t, src, "gzip")

	t.Run("mixed-kept", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "dst")
		ioCopyCLI(t, "oci-layout:"+src+":mixed", "oci-layout:"+dst+":mixed", "--preserve-digests")
		if got := ioTag(t, dst, "mixed"); got != want.Digest {
			t.Fatalf("layout → layout changed the manifest: %s → %s", want.Digest, got)
		}
		_, m := ioLayoutManifest(t, dst, "mixed")
		for i, mt := range []string{imgspecv1.MediaTypeImageLayerGzip, imgspecv1.MediaTypeImageLayerZstd, imgspecv1.MediaTypeImageLayer} {
			if m.Layers[i].MediaType != mt {
				t.Errorf("layer %d is %s, want %s", i, m.Layers[i].MediaType, mt)
			}
		}
		ioSameFiles(t, src, mixedMan, dst, m)
	})

	t.Run("dest-compress-format-zstd", func(t *testing.T) {
		dir := t.TempDir()
		dst := filepath.Join(dir, "dst")
		ioCopyCLI(t, "oci-layout:"+src+":mixed", "oci-layout:"+dst+":z", "--dest-compress-format", "zstd", "--dest-force-compress-format")
		ioVerifyCLI(t, dst)
		_, m := ioLayoutManifest(t, dst, "z")
		for i, l := range m.Layers {
			data, err := os.ReadFile(filepath.Join(dst, "blobs", "sha256", l.Digest.Encoded()))
			ioMust(t, err, "reading layer %d", i)
			if l.MediaType != imgspecv1.MediaTypeImageLayerZstd || !bytes.HasPrefix(data, []byte{0x28, 0xb5, 0x2f, 0xfd}) {
				t.Errorf("layer %d: media type %s, first bytes %x; want zstd", i, l.MediaType, data[:min(4, len(data))])
			}
		}
		ioSameFiles(t, src, mixedMan, dst, m)
	})

	t.Run("format-v2s2", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "v2s2")
		ioCopyCLI(t, "oci-layout:"+src+":gzip", "dir:"+out, "--format", "v2s2")
		raw, err := os.ReadFile(filepath.Join(out, "manifest.json"))
		ioMust(t, err, "reading the dir: manifest")
		if mt := manifest.GuessMIMEType(raw); mt != manifest.DockerV2Schema2MediaType {
			t.Fatalf("--format v2s2 wrote a %s manifest", mt)
		}
		m, err := manifest.Schema2FromManifest(raw)
		ioMust(t, err, "parsing the schema2 manifest")
		if m.ConfigDescriptor.Digest != gzipMan.Config.Digest {
			t.Errorf("config %s, want %s", m.ConfigDescriptor.Digest, gzipMan.Config.Digest)
		}
		for i, l := range m.LayersDescriptors {
			// gzip layers convert by relabelling: same bytes, Docker type.
			if l.MediaType != manifest.DockerV2Schema2LayerMediaType || l.Digest != gzipMan.Layers[i].Digest {
				t.Errorf("layer %d is %s %s, want %s %s", i, l.MediaType, l.Digest, manifest.DockerV2Schema2LayerMediaType, gzipMan.Layers[i].Digest)
			}
			if got := digest.Digest("sha256:" + ioSHA256File(t, filepath.Join(out, l.Digest.Encoded()))); got != l.Digest {
				t.Errorf("dir: layer file %s hashes to %s", l.Digest, got)
			}
		}
	})
}
