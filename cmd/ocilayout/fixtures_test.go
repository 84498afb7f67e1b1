package main

import (
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ocilayout/ocilayout/internal/fixture"
	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// testImage is a small single-layer image built in memory, so tests know
// every byte they should find after a copy.
type testImage struct {
	config, layer, manifest []byte
	diffID                  digest.Digest
}

func (i testImage) digest() digest.Digest { return digest.FromBytes(i.manifest) }

// newTestImage builds an image whose one file has content and whose config
// carries arch/os, an env var and a label derived from content, so two
// images made with different content differ in every blob.
func newTestImage(t *testing.T, content, arch string) testImage {
	t.Helper()
	epoch := time.Unix(1700000000, 0).UTC()
	tarStream, gz := fixture.TarGz(t, "hello.txt", []byte(content), epoch, gzip.DefaultCompression)
	img := testImage{layer: gz, diffID: digest.FromBytes(tarStream)}
	cfg := imgspecv1.Image{
		Created:  &epoch,
		Platform: imgspecv1.Platform{Architecture: arch, OS: "linux"},
		Config: imgspecv1.ImageConfig{
			Env:    []string{"CONTENT=" + content},
			Labels: map[string]string{"test.content": content},
		},
		RootFS: imgspecv1.RootFS{Type: "layers", DiffIDs: []digest.Digest{img.diffID}},
	}
	img.config = fixture.MustJSON(t, cfg)
	img.manifest = fixture.MustJSON(t, imgspecv1.Manifest{
		Versioned: imgspec.Versioned{SchemaVersion: 2},
		MediaType: imgspecv1.MediaTypeImageManifest,
		Config:    fixture.Descriptor(imgspecv1.MediaTypeImageConfig, img.config),
		Layers:    []imgspecv1.Descriptor{fixture.Descriptor(imgspecv1.MediaTypeImageLayerGzip, img.layer)},
	})
	return img
}

// writeDirImage writes img in containers/image's dir: format.
func writeDirImage(t *testing.T, dir string, img testImage) {
	t.Helper()
	fixture.WriteFile(t, filepath.Join(dir, "version"), []byte("Directory Transport Version: 1.1\n"))
	fixture.WriteFile(t, filepath.Join(dir, "manifest.json"), img.manifest)
	fixture.WriteFile(t, filepath.Join(dir, digest.FromBytes(img.config).Encoded()), img.config)
	fixture.WriteFile(t, filepath.Join(dir, digest.FromBytes(img.layer).Encoded()), img.layer)
}

// layoutEntry is one index.json entry of a hand-made layout.
type layoutEntry struct {
	name     string // "" for no ref.name annotation
	img      testImage
	platform *imgspecv1.Platform
}

// writeLayout writes an OCI image layout (as the image-spec defines it,
// without any ocilayout code) holding entries in order.
func writeLayout(t *testing.T, dir string, entries ...layoutEntry) {
	t.Helper()
	index := fixture.NewIndex()
	for _, e := range entries {
		for _, b := range [][]byte{e.img.config, e.img.layer, e.img.manifest} {
			fixture.WriteBlob(t, dir, b)
		}
		d := fixture.Descriptor(imgspecv1.MediaTypeImageManifest, e.img.manifest)
		d.Platform = e.platform
		if e.name != "" {
			d.Annotations = map[string]string{imgspecv1.AnnotationRefName: e.name}
		}
		index.Manifests = append(index.Manifests, d)
	}
	fixture.WriteIndex(t, dir, index)
}

// readFile returns the contents of path, failing the test if unreadable.
func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
