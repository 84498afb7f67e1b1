package layout

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// gtCreate creates a fresh layout in a temp dir.
func gtCreate(t *testing.T) (*Layout, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	l, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, dir
}

// gtManifest stores a config made from seed and a manifest over it,
// and returns the manifest's descriptor.
func gtManifest(t *testing.T, l *Layout, seed string) imgspecv1.Descriptor {
	t.Helper()
	ctx := context.Background()
	cfg := []byte(`{"architecture":"amd64","os":"linux","seed":"` + seed + `"}`)
	cd, err := l.putBytes(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := json.Marshal(imgspecv1.Manifest{
		Versioned: imgspec.Versioned{SchemaVersion: 2},
		MediaType: imgspecv1.MediaTypeImageManifest,
		Config:    imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageConfig, Digest: cd, Size: int64(len(cfg))},
		Layers:    []imgspecv1.Descriptor{},
	})
	md, err := l.putBytes(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	return imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest, Digest: md, Size: int64(len(m))}
}

// gtTree lists every path under dir with its mode and size, to show that
// an operation created, removed or changed nothing.
func gtTree(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		size := "-"
		if !fi.IsDir() {
			size = fmt.Sprint(fi.Size())
		}
		lines = append(lines, rel+" "+fi.Mode().String()+" "+size)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// gtTemps returns the names of leftover temp files anywhere under dir.
func gtTemps(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), tempPrefix) {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// gtWriteRaw writes a file inside dir with plain os calls, bypassing the
// engine, to build hostile or corrupted layouts.
func gtWriteRaw(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(path, 0o644)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// statBlob returns the size of blob d (the error wraps fs.ErrNotExist when
// it is absent).
func (l *Layout) statBlob(ctx context.Context, d digest.Digest) (int64, error) {
	f, err := l.OpenBlob(ctx, d)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// addManifest tags desc as name in one transaction.
func (l *Layout) addManifest(ctx context.Context, desc imgspecv1.Descriptor, name string) error {
	return l.Update(ctx, func(tx *IndexTx) error { return tx.Tag(desc, name) })
}

// deleteIn opens the layout at dir and deletes what sel selects.
func deleteIn(ctx context.Context, dir string, sel Selector, opts ...Option) (*DeleteResult, error) {
	l, err := Open(dir, opts...)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	return l.Delete(ctx, sel)
}

// updateRaw changes index.json by hand inside a transaction, for tests
// that set up what no verb would write.
func (l *Layout) updateRaw(ctx context.Context, fn func(*imgspecv1.Index) error) error {
	return l.Update(ctx, func(tx *IndexTx) error { return fn(tx.full()) })
}

// testEntry is one index.json entry as the tests look at it.
type testEntry struct {
	Name        string
	Digest      digest.Digest
	MediaType   string
	Size        int64
	Platform    *imgspecv1.Platform
	Annotations map[string]string
}

// list returns the entries of index.json in order.
func (l *Layout) list(ctx context.Context) ([]testEntry, error) {
	idx, err := l.Index(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]testEntry, 0, len(idx.Manifests))
	for _, d := range idx.Manifests {
		out = append(out, testEntry{Name: entryName(d), Digest: d.Digest, MediaType: d.MediaType, Size: d.Size, Platform: d.Platform, Annotations: d.Annotations})
	}
	return out, nil
}

// linkOpts are LinkBlob's options for a verified or trusted link.
func linkOpts(verify bool) []BlobOption {
	if verify {
		return nil
	}
	return []BlobOption{SizeOnly()}
}
