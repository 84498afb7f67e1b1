package mirror_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ocilayout/ocilayout/internal/layouttest"
	"github.com/ocilayout/ocilayout/layout"
	"github.com/ocilayout/ocilayout/mirror"
	"go.podman.io/image/v5/signature"
)

// TestRunBatched: a sync large enough to commit its names in batches
// (distinct images, and many names of one image) names every one of them,
// leaves nothing for gc, and a second run finds them all unchanged.
func TestRunBatched(t *testing.T) {
	tmp := t.TempDir()
	src, dst := filepath.Join(tmp, "src"), filepath.Join(tmp, "dst")
	var names []string
	for i := range 300 {
		names = append(names, fmt.Sprintf("quay.io/ns/app%d:v1", i))
	}
	writeExampleLayout(src, names...)
	opts := mirror.Options{
		Sources:     []mirror.Source{{Layout: src}},
		Destination: mirror.Destination{Layout: dst},
		Policy:      &signature.Policy{Default: signature.PolicyRequirements{signature.NewPRInsecureAcceptAnything()}},
		Parallel:    4,
	}
	ctx := context.Background()
	report, err := mirror.Run(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := report.Summary(); got != "300 images: 300 copied, 0 unchanged, 0 skipped, 0 failed; 0 pruned" {
		t.Fatalf("first run: %s", got)
	}
	l, err := layout.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	es, err := layouttest.List(l, ctx)
	if err != nil {
		t.Fatal(err)
	}
	held := map[string]bool{}
	for _, e := range es {
		held[e.Name] = true
	}
	for _, n := range names {
		if !held[n] {
			t.Fatalf("%s not named in %s", n, dst)
		}
	}
	res, err := l.GC(ctx, layout.DryRun())
	l.Close()
	if err != nil || len(res.Blobs) != 0 {
		t.Fatalf("gc after a batched sync: %v, %d blobs unreferenced", err, len(res.Blobs))
	}
	report, err = mirror.Run(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := report.Summary(); got != "300 images: 0 copied, 300 unchanged, 0 skipped, 0 failed; 0 pruned" {
		t.Fatalf("second run: %s", got)
	}
	_ = os.RemoveAll(tmp)
}
