package integration

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ocilayout/ocilayout/internal/fixture"
	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// gcLayer returns a tar layer of size random bytes from seed.
func gcLayer(t *testing.T, seed uint64, size int) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 0x6763))
	content := make([]byte, size)
	for i := range content {
		content[i] = byte(rng.Uint32())
	}
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("f%d", seed), Mode: 0o644, Size: int64(size), ModTime: time.Unix(1700000000, 0), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return tb.Bytes()
}

// gcWriteImages writes n images into the plain OCI layout dir (file writes,
// no ocilayout code) as img0..img(n-1). Image i has a base layer shared
// with every other image of its parity, a layer shared with its neighbour
// i^1, and a layer of its own, so copies into one layout keep reusing
// blobs that moved tags have just made garbage.
func gcWriteImages(t *testing.T, dir string, n int) []digest.Digest {
	t.Helper()
	put := func(data []byte) imgspecv1.Descriptor {
		d := digest.FromBytes(data)
		fixture.WriteFile(t, filepath.Join(dir, "blobs", "sha256", d.Encoded()), data)
		return imgspecv1.Descriptor{Digest: d, Size: int64(len(data))}
	}
	idx := imgspecv1.Index{Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageIndex}
	var out []digest.Digest
	for i := range n {
		layers := [][]byte{gcLayer(t, uint64(1000+i%2), 96<<10), gcLayer(t, uint64(2000+i/2), 64<<10), gcLayer(t, uint64(3000+i), 32<<10)}
		m := imgspecv1.Manifest{Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageManifest}
		var diffIDs []digest.Digest
		for _, l := range layers {
			var gz bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&gz, gzip.NoCompression)
			if _, err := zw.Write(l); err != nil {
				t.Fatal(err)
			}
			if err := zw.Close(); err != nil {
				t.Fatal(err)
			}
			d := put(gz.Bytes())
			d.MediaType = imgspecv1.MediaTypeImageLayerGzip
			m.Layers = append(m.Layers, d)
			diffIDs = append(diffIDs, digest.FromBytes(l))
		}
		m.Config = put(fixture.MustJSON(t, imgspecv1.Image{
			Platform: imgspecv1.Platform{Architecture: "amd64", OS: "linux"},
			Config:   imgspecv1.ImageConfig{Env: []string{fmt.Sprintf("IMAGE=%d", i)}},
			RootFS:   imgspecv1.RootFS{Type: "layers", DiffIDs: diffIDs},
		}))
		m.Config.MediaType = imgspecv1.MediaTypeImageConfig
		md := put(fixture.MustJSON(t, m))
		md.MediaType = imgspecv1.MediaTypeImageManifest
		md.Annotations = map[string]string{imgspecv1.AnnotationRefName: fmt.Sprintf("img%d", i)}
		idx.Manifests = append(idx.Manifests, md)
		out = append(out, md.Digest)
	}
	fixture.WriteFile(t, filepath.Join(dir, imgspecv1.ImageLayoutFile), []byte(`{"imageLayoutVersion":"1.0.0"}`))
	fixture.WriteFile(t, filepath.Join(dir, "index.json"), fixture.MustJSON(t, idx))
	return out
}

// TestGCDuringConcurrentCopies: 8 writer processes each copy 4 images in
// turn to their own tag (every copy moves the tag, so the previous image
// becomes garbage unless another tag holds it) while `ocilayout gc` runs
// in a loop. Layers are shared, so copies keep reusing blobs that gc would
// collect if it ignored the write lease. Afterwards every tag is on the
// last image copied to it and verify passes.
func TestGCDuringConcurrentCopies(t *testing.T) {
	const writers, rounds, images = 8, 4, 12
	src := filepath.Join(t.TempDir(), "src")
	want := gcWriteImages(t, src, images)
	dst := filepath.Join(t.TempDir(), "dst")
	mustRunCLI(t, "copy", "--quiet", "--insecure-policy", "oci:"+src+":img0", "oci-layout:"+dst+":seed")

	imageFor := func(w, r int) int { return (w*3 + r*5) % images }
	var wg sync.WaitGroup
	errs := make(chan error, writers*rounds)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				img := imageFor(w, r)
				if _, stderr, err := runCLI(t, "copy", "--quiet", "--insecure-policy",
					fmt.Sprintf("oci:%s:img%d", src, img), fmt.Sprintf("oci-layout:%s:tag%d", dst, w)); err != nil {
					errs <- fmt.Errorf("writer %d round %d: %w: %s", w, r, err, stderr)
				}
			}
		}()
	}
	copiesDone := make(chan struct{})
	go func() { wg.Wait(); close(copiesDone) }()

	gcRuns, freed := 0, 0
	for running := true; running; {
		select {
		case <-copiesDone:
			running = false // one more gc below, after the last commit
		default:
		}
		out := mustRunCLI(t, "gc", "--json", dst)
		var res struct {
			Files int `json:"files"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("gc --json printed %q: %v", out, err)
		}
		gcRuns++
		freed += res.Files
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d gc runs beside %d copies freed %d files", gcRuns, writers*rounds, freed)

	tags := tagsOf(t, checkLayout(t, dst))
	for w := range writers {
		name := fmt.Sprintf("tag%d", w)
		if got := tags[name]; got != want[imageFor(w, rounds-1)] {
			t.Errorf("%s is %q, want the last image copied to it, %s", name, got, want[imageFor(w, rounds-1)])
		}
	}
	if tags["seed"] != want[0] {
		t.Errorf("seed tag is %q, want %s", tags["seed"], want[0])
	}
	if out, stderr, err := runCLI(t, "verify", dst); err != nil {
		t.Errorf("verify after gc beside concurrent copies: %v\n%s%s", err, out, stderr)
	}
	if _, err := os.Stat(filepath.Join(dst, "index.json")); err != nil {
		t.Fatal(err)
	}
}
