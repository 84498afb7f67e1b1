package layout

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestOneBadEntryNeverBricksTheLayout: an index.json entry whose digest
// the engine cannot use (another tool's algorithm, uppercase hex, a path
// trick) or whose size is negative is kept as an opaque entry: the other
// entries resolve, copies tag into the layout, gc runs (naming the entry
// it skipped), selecting the entry fails naming it, and delete @N
// removes it.
func TestOneBadEntryNeverBricksTheLayout(t *testing.T) {
	for _, tc := range []struct {
		name   string
		digest string
		size   int64
	}{
		{"unknown algorithm", "blake3:" + strings.Repeat("a", 64), 10},
		{"uppercase hex", "sha256:" + strings.Repeat("A", 64), 10},
		{"path trick", "sha256:../../../../etc/passwd", 10},
		{"negative size", "sha256:" + strings.Repeat("b", 64), -5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			l, dir := gtCreate(t)
			img := gtManifest(t, l, "app")
			if err := l.addManifest(ctx, img, "app"); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
			if err != nil {
				t.Fatal(err)
			}
			var idx map[string]any
			if err := json.Unmarshal(raw, &idx); err != nil {
				t.Fatal(err)
			}
			idx["manifests"] = append(idx["manifests"].([]any), map[string]any{
				"mediaType": imgspecv1.MediaTypeImageManifest, "digest": tc.digest, "size": tc.size,
				"annotations": map[string]string{imgspecv1.AnnotationRefName: "foreign"},
			})
			raw, _ = json.Marshal(idx)
			gtWriteRaw(t, filepath.Join(dir, "index.json"), raw)

			got, err := l.Index(ctx)
			if err != nil {
				t.Fatalf("reading index.json with one bad entry: %v", err)
			}
			if d, err := l.Resolve(ctx, got, sel(t, "app")); err != nil || d.Digest != img.Digest {
				t.Errorf("resolving app: %v %v", d.Digest, err)
			}
			if _, err := l.Resolve(ctx, got, sel(t, "@"+img.Digest.String())); err != nil {
				t.Errorf("resolving @digest past the bad entry: %v", err)
			}
			if _, err := l.Resolve(ctx, got, sel(t, "foreign")); err == nil || !strings.Contains(err.Error(), tc.digest[:10]) {
				t.Errorf("resolving the bad entry: %v, want an error naming it", err)
			}
			if err := l.addManifest(ctx, img, "new"); err != nil {
				t.Errorf("tagging beside the bad entry: %v", err)
			}
			res, err := l.GC(ctx)
			if err != nil {
				t.Fatalf("gc beside the bad entry: %v", err)
			}
			if len(res.Skipped) != 1 || !strings.Contains(res.Skipped[0].String(), tc.digest[:10]) {
				t.Errorf("gc skipped %v, want the bad entry named", res.Skipped)
			}
			if _, err := l.statBlob(ctx, img.Digest); err != nil {
				t.Errorf("gc removed the good image: %v", err)
			}
			if _, err := l.Delete(ctx, sel(t, "@1")); err != nil {
				t.Fatalf("delete @1 of the bad entry: %v", err)
			}
			entries, err := l.list(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 2 || entries[0].Name != "app" || entries[1].Name != "new" {
				t.Errorf("entries after the delete: %+v", entries)
			}
			if rep, err := l.Verify(ctx); err != nil || len(rep.Problems) != 0 {
				t.Errorf("verify after the delete: %v %v", err, rep.Problems)
			}
		})
	}
}
