package layout

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestVerifyEdges: what the main Verify table leaves out. A descriptor
// that says 0 bytes is checked like any other size (only -1, schema1's
// "no size", is skipped); -1 itself is no problem; an unreachable blob that
// is a dangling symlink is named as a symlink, not as an ordinary
// unreachable blob.
func TestVerifyEdges(t *testing.T) {
	ctx := context.Background()
	layerData := []byte("five!")
	layerDigest := digest.FromBytes(layerData)
	dangling := digest.FromString("dangling")
	for _, tc := range []struct {
		name      string
		layerSize int64
		symlink   bool   // add an unreachable dangling symlink blob
		want      string // "digest: kind: " prefix of the one problem, "" for none
	}{
		{"layer size right", 5, false, ""},
		{"layer size 0, blob of 5 bytes", 0, false, layerDigest.String() + ": " + problemSize + ": "},
		{"layer size 4", 4, false, layerDigest.String() + ": " + problemSize + ": "},
		{"unreachable dangling symlink", 5, true, dangling.String() + ": " + problemSymlink + ": "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, dir := gtCreate(t)
			_, err := l.putBytes(ctx, layerData)
			must(t, err)
			m := gtManifestWithLayer(t, l, imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageLayer, Digest: layerDigest, Size: tc.layerSize})
			must(t, l.updateRaw(ctx, func(idx *imgspecv1.Index) error {
				applyTag(idx, m, "app")
				return nil
			}))
			if tc.symlink {
				must(t, os.Symlink(filepath.Join(t.TempDir(), "gone"), filepath.Join(dir, "blobs", "sha256", dangling.Encoded())))
			}
			r, err := l.Verify(ctx)
			must(t, err)
			if tc.want == "" {
				if len(r.Problems) != 0 {
					t.Errorf("problems in a sound layout: %v", r.Problems)
				}
				return
			}
			if len(r.Problems) != 1 || !strings.HasPrefix(r.Problems[0].String(), tc.want) {
				t.Errorf("problems %v, want one starting %q", r.Problems, tc.want)
			}
		})
	}
}
