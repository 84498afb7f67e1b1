package layout

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestCreate covers the directories Create initialises and the ones it
// must refuse.
func TestCreate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setup   func(t *testing.T, dir string) // dir does not exist yet
		wantErr string                         // substring; "" for success
	}{
		{name: "missing directory, parent exists", setup: func(*testing.T, string) {}},
		{name: "empty directory", setup: func(t *testing.T, dir string) { gtMkdir(t, dir) }},
		{name: "non-empty non-layout directory", setup: func(t *testing.T, dir string) {
			gtWriteRaw(t, filepath.Join(dir, "thesis.tex"), []byte("precious"))
		}, wantErr: "thesis.tex"},
		{name: "left by a killed initialisation", setup: func(t *testing.T, dir string) {
			gtWriteRaw(t, filepath.Join(dir, indexLockFile), nil)
			gtWriteRaw(t, filepath.Join(dir, tempPrefix+"0123"), []byte(`{"imageLayoutVers`))
			gtMkdir(t, filepath.Join(dir, "blobs"))
		}},
		{name: "missing parent", setup: func(t *testing.T, dir string) {}, wantErr: "creating layout directory"},
		{name: "regular file", setup: func(t *testing.T, dir string) { gtWriteRaw(t, dir, []byte("x")) }, wantErr: "opening layout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "layout")
			if tc.name == "missing parent" {
				dir = filepath.Join(t.TempDir(), "no", "such", "layout")
			}
			tc.setup(t, dir)
			before := ""
			if _, err := os.Stat(dir); err == nil {
				before = gtTree(t, dir)
			}
			l, err := Create(dir)
			if tc.wantErr != "" {
				if err == nil {
					l.Close()
				}
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), dir) {
					t.Fatalf("Create = %v; want an error naming %s and containing %q", err, dir, tc.wantErr)
				}
				if before != "" {
					if after := gtTree(t, dir); after != before {
						t.Errorf("a refused Create changed %s:\n%s\n---\n%s", dir, before, after)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			var lay imgspecv1.ImageLayout
			data, err := os.ReadFile(filepath.Join(dir, imgspecv1.ImageLayoutFile))
			if err != nil || json.Unmarshal(data, &lay) != nil || lay.Version != imgspecv1.ImageLayoutVersion {
				t.Errorf("oci-layout = %q, %v", data, err)
			}
			if fi, err := os.Stat(filepath.Join(dir, "blobs")); err != nil || !fi.IsDir() {
				t.Errorf("blobs/ missing: %v", err)
			}
			entries, err := l.list(context.Background())
			if err != nil || len(entries) != 0 {
				t.Errorf("a new layout lists %v, %v", entries, err)
			}
		})
	}
}

// TestCreateExistingLayoutKeepsIndex: Create on an existing layout opens it
// as is.
func TestCreateExistingLayoutKeepsIndex(t *testing.T) {
	l, dir := gtCreate(t)
	if err := l.addManifest(context.Background(), gtManifest(t, l, "a"), "v1"); err != nil {
		t.Fatal(err)
	}
	before := gtTree(t, dir)
	l2, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	l2.Close()
	if after := gtTree(t, dir); after != before {
		t.Errorf("Create of an existing layout changed it:\n%s\n---\n%s", before, after)
	}
}

// TestOpenCreatesNothing: reading through Open (index, list, resolve,
// blobs) writes nothing to the layout, which is what lets a read-only
// mount or the module cache be a source. (As root, chmod -w would not stop
// a write, so the test compares the tree instead.)
func TestOpenCreatesNothing(t *testing.T) {
	l, dir := gtCreate(t)
	ctx := context.Background()
	d := gtManifest(t, l, "a")
	if err := l.addManifest(ctx, d, "v1"); err != nil {
		t.Fatal(err)
	}
	l.Close()
	// A layout written by another tool has no lock files of ours.
	for _, f := range []string{indexLockFile, leaseLockFile} {
		_ = os.Remove(filepath.Join(dir, f))
	}
	// Read-only as well: for a non-root run this proves no write is even
	// attempted; root ignores the mode, hence the tree comparison.
	gtChmodTree(t, dir, false)
	t.Cleanup(func() { gtChmodTree(t, dir, true) })
	before := gtTree(t, dir)

	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := r.Index(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sel, _ := byName("v1")
	got, err := r.Resolve(ctx, idx, sel)
	if err != nil || got.Digest != d.Digest {
		t.Fatalf("Resolve = %v, %v", got.Digest, err)
	}
	if _, err := r.readManifestBlob(ctx, got); err != nil {
		t.Fatal(err)
	}
	if _, err := r.list(ctx); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if after := gtTree(t, dir); after != before {
		t.Errorf("reading the layout changed it:\n%s\n---\n%s", before, after)
	}
}

// TestOpenRefuses: Open of something that is not a layout names it.
func TestOpenRefuses(t *testing.T) {
	base := t.TempDir()
	gtMkdir(t, filepath.Join(base, "empty"))
	for _, dir := range []string{filepath.Join(base, "missing"), filepath.Join(base, "empty")} {
		l, err := Open(dir)
		if err == nil {
			l.Close()
			t.Errorf("Open(%s) succeeded", dir)
		} else if !strings.Contains(err.Error(), dir) {
			t.Errorf("Open(%s) error does not name it: %v", dir, err)
		}
	}
	if _, err := os.Stat(filepath.Join(base, "missing")); !os.IsNotExist(err) {
		t.Errorf("Open created the missing directory")
	}
}

func gtMkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

// gtChmodTree removes (writable false) or restores write permission on
// every directory under dir, so TempDir cleanup still works afterwards.
func gtChmodTree(t *testing.T, dir string, writable bool) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		mode := os.FileMode(0o555)
		if writable {
			mode = 0o755
		}
		return os.Chmod(p, mode)
	})
	if err != nil {
		t.Fatal(err)
	}
}
