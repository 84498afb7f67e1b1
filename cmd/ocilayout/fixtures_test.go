package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

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
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	epoch := time.Unix(1700000000, 0).UTC()
	if err := tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: int64(len(content)), ModTime: epoch, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(tb.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	img := testImage{layer: gz.Bytes(), diffID: digest.FromBytes(tb.Bytes())}
	cfg := imgspecv1.Image{
		Created:  &epoch,
		Platform: imgspecv1.Platform{Architecture: arch, OS: "linux"},
		Config: imgspecv1.ImageConfig{
			Env:    []string{"CONTENT=" + content},
			Labels: map[string]string{"test.content": content},
		},
		RootFS: imgspecv1.RootFS{Type: "layers", DiffIDs: []digest.Digest{img.diffID}},
	}
	img.config = mustJSON(t, cfg)
	img.manifest = mustJSON(t, imgspecv1.Manifest{
		Versioned: imgspec.Versioned{SchemaVersion: 2},
		MediaType: imgspecv1.MediaTypeImageManifest,
		Config:    blobDescriptor(imgspecv1.MediaTypeImageConfig, img.config),
		Layers:    []imgspecv1.Descriptor{blobDescriptor(imgspecv1.MediaTypeImageLayerGzip, img.layer)},
	})
	return img
}

func blobDescriptor(mediaType string, data []byte) imgspecv1.Descriptor {
	return imgspecv1.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeDirImage writes img in containers/image's dir: format.
func writeDirImage(t *testing.T, dir string, img testImage) {
	t.Helper()
	writeFile(t, filepath.Join(dir, "version"), []byte("Directory Transport Version: 1.1\n"))
	writeFile(t, filepath.Join(dir, "manifest.json"), img.manifest)
	writeFile(t, filepath.Join(dir, digest.FromBytes(img.config).Encoded()), img.config)
	writeFile(t, filepath.Join(dir, digest.FromBytes(img.layer).Encoded()), img.layer)
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
	writeFile(t, filepath.Join(dir, imgspecv1.ImageLayoutFile), []byte(`{"imageLayoutVersion":"1.0.0"}`))
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		t.Fatal(err)
	}
	index := imgspecv1.Index{
		Versioned: imgspec.Versioned{SchemaVersion: 2},
		MediaType: imgspecv1.MediaTypeImageIndex,
		Manifests: []imgspecv1.Descriptor{},
	}
	for _, e := range entries {
		for _, b := range [][]byte{e.img.config, e.img.layer, e.img.manifest} {
			writeFile(t, filepath.Join(dir, "blobs", "sha256", digest.FromBytes(b).Encoded()), b)
		}
		d := blobDescriptor(imgspecv1.MediaTypeImageManifest, e.img.manifest)
		d.Platform = e.platform
		if e.name != "" {
			d.Annotations = map[string]string{imgspecv1.AnnotationRefName: e.name}
		}
		index.Manifests = append(index.Manifests, d)
	}
	writeFile(t, filepath.Join(dir, "index.json"), mustJSON(t, index))
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
