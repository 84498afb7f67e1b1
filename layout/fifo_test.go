package layout

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// gtMkfifo replaces the file at p by a FIFO, and makes sure that a test
// which blocks on it anyway (the failure this guards against) is released
// at cleanup by a writer, so the test run ends with a failure, not a hang.
func gtMkfifo(t *testing.T, p string) {
	t.Helper()
	_ = os.Chmod(p, 0o644)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if f, err := os.OpenFile(p, os.O_RDWR|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
}

// gtWithin runs op and fails the test if it has not returned within d.
func gtWithin(t *testing.T, d time.Duration, op func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- op() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("still blocked after %s", d)
		return nil
	}
}

// TestFIFOsAreRefusedWithoutBlocking plants a FIFO where a layer, a
// manifest, index.json or oci-layout should be, and checks that every
// operation that meets it returns, within a deadline, an error (or a
// verify problem) that says it is not a regular file, instead of blocking
// in open(2) for a writer that never comes. A FIFO offered as a link
// source is skipped ("", nil: stream instead).
func TestFIFOsAreRefusedWithoutBlocking(t *testing.T) {
	ctx := context.Background()
	type target int
	const (
		layer target = iota
		manifest
		index
		layoutFile
	)
	for _, tc := range []struct {
		name string
		at   target
		op   func(l *Layout, m imgspecv1.Descriptor, ld digest.Digest) error
	}{
		{"layer: BlobReader", layer, func(l *Layout, _ imgspecv1.Descriptor, ld digest.Digest) error {
			_, _, err := l.BlobReader(ctx, ld, -1)
			return err
		}},
		{"layer: Verify", layer, gtVerifyErr},
		{"layer: PutBlob of the same content", layer, func(l *Layout, _ imgspecv1.Descriptor, ld digest.Digest) error {
			// PutBlob checks the existing file before keeping it; a FIFO
			// there is replaced, so this succeeds without blocking.
			if _, _, err := l.PutBlob(ctx, strings.NewReader("layer"), ld, 5); err != nil {
				return err
			}
			return fmt.Errorf("replaced: %w", errNotRegularForTest)
		}},
		{"layer: LinkBlob from it", layer, func(l *Layout, _ imgspecv1.Descriptor, ld digest.Digest) error {
			dst, _ := gtCreate(t)
			from, _, err := l.BlobLocation()
			if err != nil {
				return err
			}
			m, err := dst.LinkBlob(ctx, from, ld, 5)
			if err == nil && m == "" {
				return fmt.Errorf("skipped: %w", errNotRegularForTest)
			}
			return fmt.Errorf("LinkBlob = %q, %v", m, err)
		}},
		{"manifest: ReadBlob", manifest, func(l *Layout, m imgspecv1.Descriptor, _ digest.Digest) error {
			_, err := l.ReadBlob(ctx, m.Digest, m.Size)
			return err
		}},
		{"manifest: GC", manifest, func(l *Layout, _ imgspecv1.Descriptor, _ digest.Digest) error {
			_, err := l.GC(ctx)
			return err
		}},
		{"manifest: Verify", manifest, gtVerifyErr},
		{"index.json: Index", index, func(l *Layout, _ imgspecv1.Descriptor, _ digest.Digest) error {
			_, err := l.Index(ctx)
			return err
		}},
		{"index.json: Update", index, func(l *Layout, _ imgspecv1.Descriptor, _ digest.Digest) error {
			return l.Update(ctx, func(*IndexTx) error { return nil })
		}},
		{"index.json: Verify", index, gtVerifyErr},
		{"oci-layout: Verify", layoutFile, gtVerifyErr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, dir := gtCreate(t)
			ld, err := l.putBytes(ctx, []byte("layer"))
			if err != nil {
				t.Fatal(err)
			}
			m := gtManifestWithLayer(t, l, imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageLayer, Digest: ld, Size: 5})
			if err := l.addManifest(ctx, m, "app"); err != nil {
				t.Fatal(err)
			}
			switch tc.at {
			case layer:
				gtMkfifo(t, filepath.Join(dir, "blobs", "sha256", ld.Encoded()))
			case manifest:
				gtMkfifo(t, filepath.Join(dir, "blobs", "sha256", m.Digest.Encoded()))
			case index:
				gtMkfifo(t, filepath.Join(dir, "index.json"))
			case layoutFile:
				gtMkfifo(t, filepath.Join(dir, "oci-layout"))
			}
			err = gtWithin(t, 5*time.Second, func() error { return tc.op(l, m, ld) })
			if err == nil || !strings.Contains(err.Error(), "not a regular file") {
				t.Fatalf("got %v, want an error saying the file is not a regular file", err)
			}
		})
	}
}

// gtManifestWithLayer stores a config and a manifest with the one layer.
func gtManifestWithLayer(t *testing.T, l *Layout, layer imgspecv1.Descriptor) imgspecv1.Descriptor {
	t.Helper()
	ctx := context.Background()
	cfg := []byte(`{"architecture":"amd64","os":"linux"}`)
	cd, err := l.putBytes(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := json.Marshal(imgspecv1.Manifest{
		Versioned: imgspec.Versioned{SchemaVersion: 2},
		MediaType: imgspecv1.MediaTypeImageManifest,
		Config:    imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageConfig, Digest: cd, Size: int64(len(cfg))},
		Layers:    []imgspecv1.Descriptor{layer},
	})
	md, err := l.putBytes(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	return imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest, Digest: md, Size: int64(len(m))}
}

// errNotRegularForTest lets the cases that succeed by skipping or
// replacing the FIFO report it the way the refusing cases do.
var errNotRegularForTest = fmt.Errorf("not a regular file (as expected)")

// gtVerifyErr runs Verify and returns its problems (or error) as one error.
func gtVerifyErr(l *Layout, _ imgspecv1.Descriptor, _ digest.Digest) error {
	r, err := l.Verify(context.Background())
	if err != nil {
		return err
	}
	var s []string
	for _, p := range r.Problems {
		s = append(s, p.String())
	}
	if len(s) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(s, "; "))
}
