package main

import (
	"compress/gzip"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/ocilayout/ocilayout/internal/fixture"
	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// newUncompressedImage is newTestImage with its layer stored as a plain
// tar (media type ...tar): the case where oci: gzips unasked.
func newUncompressedImage(t *testing.T, content string) testImage {
	t.Helper()
	epoch := time.Unix(1700000000, 0).UTC()
	tarStream, _ := fixture.TarGz(t, "hello.txt", []byte(content), epoch, gzip.DefaultCompression)
	img := testImage{layer: tarStream, diffID: digest.FromBytes(tarStream)}
	img.config = fixture.MustJSON(t, imgspecv1.Image{
		Created:  &epoch,
		Platform: imgspecv1.Platform{Architecture: "amd64", OS: "linux"},
		RootFS:   imgspecv1.RootFS{Type: "layers", DiffIDs: []digest.Digest{img.diffID}},
	})
	img.manifest = fixture.MustJSON(t, imgspecv1.Manifest{
		Versioned: imgspec.Versioned{SchemaVersion: 2},
		MediaType: imgspecv1.MediaTypeImageManifest,
		Config:    fixture.Descriptor(imgspecv1.MediaTypeImageConfig, img.config),
		Layers:    []imgspecv1.Descriptor{fixture.Descriptor(imgspecv1.MediaTypeImageLayer, img.layer)},
	})
	return img
}

// TestCopyLayerCompression: a copy into a layout stores an uncompressed
// layer as it is (same manifest digest, so signatures and referrers still
// apply) unless compression is asked for, from a dir: source and from
// another layout alike.
func TestCopyLayerCompression(t *testing.T) {
	img := newUncompressedImage(t, "uncompressed layer")
	tmp := t.TempDir()
	dirSrc := filepath.Join(tmp, "dir")
	writeDirImage(t, dirSrc, img)
	laySrc := filepath.Join(tmp, "src")
	writeLayout(t, laySrc, layoutEntry{name: "app", img: img})

	for _, tc := range []struct {
		name      string
		flags     []string
		src       string
		mediaType string // of the stored layer
	}{
		{"default from dir:", nil, "dir:" + dirSrc, imgspecv1.MediaTypeImageLayer},
		{"default from a layout", nil, "oci-layout:" + laySrc + ":app", imgspecv1.MediaTypeImageLayer},
		{"--dest-compress", []string{"--dest-compress"}, "dir:" + dirSrc, imgspecv1.MediaTypeImageLayerGzip},
		{"--dest-compress from a layout", []string{"--dest-compress"}, "oci-layout:" + laySrc + ":app", imgspecv1.MediaTypeImageLayerGzip},
		{"--dest-compress-format zstd", []string{"--dest-compress-format", "zstd"}, "dir:" + dirSrc, imgspecv1.MediaTypeImageLayerZstd},
		{"--dest-compress-format gzip", []string{"--dest-compress-format", "gzip"}, "oci-layout:" + laySrc + ":app", imgspecv1.MediaTypeImageLayerGzip},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dest := "oci-layout:" + filepath.Join(t.TempDir(), "l") + ":app"
			args := append([]string{"copy", "-q", "--insecure-policy"}, tc.flags...)
			mustRun(t, append(args, tc.src, dest)...)
			raw := mustRun(t, "inspect", "--raw", dest).stdout
			var m imgspecv1.Manifest
			if err := json.Unmarshal(raw, &m); err != nil || len(m.Layers) != 1 {
				t.Fatalf("stored manifest (%v): %s", err, raw)
			}
			if got := m.Layers[0].MediaType; got != tc.mediaType {
				t.Errorf("stored layer %s, want %s", got, tc.mediaType)
			}
			preserved := tc.mediaType == imgspecv1.MediaTypeImageLayer
			if same := digest.FromBytes(raw) == img.digest(); same != preserved {
				t.Errorf("manifest digest %s, source %s: want unchanged = %v", digest.FromBytes(raw), img.digest(), preserved)
			}
			if preserved && m.Layers[0].Digest != digest.FromBytes(img.layer) {
				t.Errorf("stored layer %s, want the source's %s", m.Layers[0].Digest, digest.FromBytes(img.layer))
			}
		})
	}
}
