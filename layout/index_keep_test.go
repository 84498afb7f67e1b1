package layout

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestLargeIndexReplacedWithoutLeftovers: replacing an index.json large
// enough to be kept under a second name until the rename (so that the
// rename does not free it under the lock) leaves, once the layout is
// closed, the new index and no temp file; a small one is replaced as
// before. A reader that opened the old index.json reads it whole either way.
func TestLargeIndexReplacedWithoutLeftovers(t *testing.T) {
	for _, tt := range []struct {
		name string
		tags int
	}{
		{"small", 10},
		{"large", 30000}, // about 6.4 MB, past largeIndex
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := filepath.Join(t.TempDir(), "l")
			l, err := Create(dir)
			if err != nil {
				t.Fatal(err)
			}
			desc := gtManifestTB(t, l)
			err = l.updateRaw(ctx, func(idx *imgspecv1.Index) error {
				for i := range tt.tags {
					e := desc
					e.Annotations = map[string]string{imgspecv1.AnnotationRefName: "t" + strconv.Itoa(i)}
					idx.Manifests = append(idx.Manifests, e)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			before, err := os.ReadFile(filepath.Join(dir, "index.json"))
			if err != nil {
				t.Fatal(err)
			}
			if large := len(before) >= largeIndex; large != (tt.name == "large") {
				t.Fatalf("index.json of %d bytes: large %v, want the %s case", len(before), large, tt.name)
			}
			reader, err := os.Open(filepath.Join(dir, "index.json"))
			if err != nil {
				t.Fatal(err)
			}
			defer reader.Close()
			for i := range 3 {
				if err := l.addManifest(ctx, desc, "new"+strconv.Itoa(i)); err != nil {
					t.Fatal(err)
				}
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), tempPrefix) {
					t.Errorf("left behind: %s", e.Name())
				}
			}
			after, err := os.ReadFile(filepath.Join(dir, "index.json"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(after), `"new2"`) || len(after) <= len(before) {
				t.Fatalf("index.json after three tag adds: %d bytes, new2 %v", len(after), strings.Contains(string(after), `"new2"`))
			}
			old, err := io.ReadAll(reader)
			if err != nil || string(old) != string(before) {
				t.Fatalf("the reader of the old index.json read %d bytes (%v), want the %d it opened", len(old), err, len(before))
			}
		})
	}
}
