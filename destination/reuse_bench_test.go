package destination_test

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ocilayout/ocilayout/internal/layouttest"

	"github.com/ocilayout/ocilayout/layout"
	"github.com/ocilayout/ocilayout/reference"
	"go.podman.io/image/v5/types"
)

// BenchmarkCopyLayoutToLayout: copy.Image of a 4-layer image (4 x 200
// KiB) between two layouts on one file system, with verified and with
// trusted links: the per-copy overhead (source open with its cache rows,
// destination commit) that the links leave.
func BenchmarkCopyLayoutToLayout(b *testing.B) {
	ctx := context.Background()
	base := b.TempDir()
	sys := &types.SystemContext{BlobInfoCacheDir: filepath.Join(base, "cache")}
	srcDir := filepath.Join(base, "src")
	l, err := layout.Create(srcDir)
	if err != nil {
		b.Fatal(err)
	}
	desc := putImage(b, l, "amd64", randomLayer(b), randomLayer(b), randomLayer(b), randomLayer(b))
	if err := layouttest.Tag(l, ctx, desc, "app"); err != nil {
		b.Fatal(err)
	}
	l.Close()
	srcRef, _ := reference.NewReference(srcDir, "app")
	for _, trusted := range []bool{false, true} {
		b.Run("trusted="+strconv.FormatBool(trusted), func(b *testing.B) {
			i := 0
			for b.Loop() {
				i++
				destRef, _ := reference.NewReference(filepath.Join(b.TempDir(), "dst"+strconv.Itoa(i)), "copy")
				if trusted {
					destRef = reference.With(destRef, reference.WithTrustedLinks())
				}
				if err := runCopy(b, srcRef, destRef, sys, sys, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
