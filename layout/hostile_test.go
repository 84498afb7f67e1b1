package layout

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// TestHostileLayouts builds layouts that try to escape the layout
// directory, exhaust memory or confuse the blob store, and checks that
// reading them fails with an error naming the offending input rather than
// following the trick.
func TestHostileLayouts(t *testing.T) {
	secret := []byte("outside the layout")
	sd := digest.FromBytes(secret)
	for _, tc := range []struct {
		name string
		// setup makes the layout at dir hostile; outside is a directory
		// next to it holding a file "secret" whose digest is sd.
		setup   func(t *testing.T, dir, outside string)
		read    func(ctx context.Context, l *Layout) error
		wantErr string
	}{
		{
			name: "blob is an absolute symlink out of the layout",
			setup: func(t *testing.T, dir, outside string) {
				gtSymlink(t, filepath.Join(outside, "secret"), filepath.Join(dir, "blobs", "sha256", sd.Encoded()))
			},
			read:    func(ctx context.Context, l *Layout) error { _, err := l.ReadBlob(ctx, sd, -1); return err },
			wantErr: sd.String(),
		},
		{
			name: "blob is a relative symlink out of the layout",
			setup: func(t *testing.T, dir, outside string) {
				gtSymlink(t, "../../../outside/secret", filepath.Join(dir, "blobs", "sha256", sd.Encoded()))
			},
			read:    func(ctx context.Context, l *Layout) error { _, err := l.OpenBlob(ctx, sd); return err },
			wantErr: sd.String(),
		},
		{
			name: "blob is a directory",
			setup: func(t *testing.T, dir, outside string) {
				if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256", sd.Encoded()), 0o755); err != nil {
					t.Fatal(err)
				}
			},
			read:    func(ctx context.Context, l *Layout) error { _, err := l.statBlob(ctx, sd); return err },
			wantErr: "not a regular file",
		},
		{
			name:    "digest with ../ in index.json",
			setup:   func(t *testing.T, dir, _ string) { gtIndex(t, dir, `"sha256:../../../outside/secret"`) },
			read:    gtReadEntry,
			wantErr: `"sha256:../../../outside/secret"`,
		},
		{
			name:    "malformed digest in index.json",
			setup:   func(t *testing.T, dir, _ string) { gtIndex(t, dir, `"sha256:abc"`) },
			read:    gtReadEntry,
			wantErr: `"sha256:abc"`,
		},
		{
			name:    "unknown algorithm in index.json",
			setup:   func(t *testing.T, dir, _ string) { gtIndex(t, dir, `"crc32:deadbeef"`) },
			read:    gtReadEntry,
			wantErr: `"crc32:deadbeef"`,
		},
		{
			name: "broken JSON",
			setup: func(t *testing.T, dir, _ string) {
				gtWriteRaw(t, filepath.Join(dir, "index.json"), []byte(`{"schemaVersion":2,"manifests":[`))
			},
			read:    gtReadIndex,
			wantErr: "parsing index.json of",
		},
		{
			name: "wrong schemaVersion",
			setup: func(t *testing.T, dir, _ string) {
				gtWriteRaw(t, filepath.Join(dir, "index.json"), []byte(`{"schemaVersion":1}`))
			},
			read:    gtReadIndex,
			wantErr: "schemaVersion 1",
		},
		{
			name: "huge index.json",
			setup: func(t *testing.T, dir, _ string) {
				// Sparse: the test costs no disk, the reader must still refuse it.
				if err := os.Truncate(filepath.Join(dir, "index.json"), maxIndexSize+1); err != nil {
					t.Fatal(err)
				}
			},
			read:    gtReadIndex,
			wantErr: "larger than",
		},
		{
			name: "index.json is a symlink out of the layout",
			setup: func(t *testing.T, dir, outside string) {
				gtWriteRaw(t, filepath.Join(outside, "index.json"), []byte(`{"schemaVersion":2,"manifests":[]}`))
				if err := os.Remove(filepath.Join(dir, "index.json")); err != nil {
					t.Fatal(err)
				}
				gtSymlink(t, filepath.Join(outside, "index.json"), filepath.Join(dir, "index.json"))
			},
			read:    gtReadIndex,
			wantErr: "index.json",
		},
		{
			name: "huge manifest",
			setup: func(t *testing.T, dir, _ string) {
				p := filepath.Join(dir, "blobs", "sha256", sd.Encoded())
				gtWriteRaw(t, p, nil)
				if err := os.Truncate(p, maxManifestSize+10); err != nil {
					t.Fatal(err)
				}
			},
			read:    func(ctx context.Context, l *Layout) error { _, err := l.ReadBlob(ctx, sd, -1); return err },
			wantErr: "limit",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			dir, outside := filepath.Join(base, "layout"), filepath.Join(base, "outside")
			l, err := Create(dir)
			if err != nil {
				t.Fatal(err)
			}
			l.Close()
			gtWriteRaw(t, filepath.Join(outside, "secret"), secret)
			tc.setup(t, dir, outside)

			// Refusing at Open is as good as refusing at the read.
			l, err = Open(dir)
			if err == nil {
				defer l.Close()
				err = tc.read(context.Background(), l)
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("reading the hostile layout = %v; want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

// TestBlobsDirSymlinkOutside: a blobs/ that is a symlink out of the layout
// is refused at Open (os.Root will not open it as the blob root).
func TestBlobsDirSymlinkOutside(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "layout")
	l, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if err := os.Mkdir(filepath.Join(base, "elsewhere"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "blobs")); err != nil {
		t.Fatal(err)
	}
	gtSymlink(t, filepath.Join(base, "elsewhere"), filepath.Join(dir, "blobs"))
	if l, err := Open(dir); err == nil {
		l.Close()
		t.Fatal("Open followed blobs/ out of the layout")
	} else if !strings.Contains(err.Error(), dir) {
		t.Errorf("error does not name the layout: %v", err)
	}
}

func gtSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// gtIndex writes an index.json with one entry whose digest is the JSON
// string digestJSON.
func gtIndex(t *testing.T, dir, digestJSON string) {
	t.Helper()
	gtWriteRaw(t, filepath.Join(dir, "index.json"), []byte(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":`+digestJSON+`,"size":10}]}`))
}

// gtReadEntry reads the blob of the first entry of index.json, which is
// kept (opaque) even when its digest is invalid.
func gtReadEntry(ctx context.Context, l *Layout) error {
	idx, err := l.Index(ctx)
	if err != nil {
		return err
	}
	_, err = l.ReadBlob(ctx, idx.Manifests[0].Digest, idx.Manifests[0].Size)
	return err
}

func gtReadIndex(ctx context.Context, l *Layout) error {
	_, err := l.Index(ctx)
	if err == nil {
		_, err = l.list(ctx)
	}
	return err
}
