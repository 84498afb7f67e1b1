package layout

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// rtSmallIndexLimit lowers the index.json limit for one test, so that
// crossing it costs kilobytes instead of 64 MiB.
func rtSmallIndexLimit(t *testing.T, n int64) {
	old := maxIndexSize
	maxIndexSize = n
	t.Cleanup(func() { maxIndexSize = old })
}

// TestIndexNeverGrowsPastTheReadLimit: a tag that would take index.json
// past what readers accept is refused with an error saying so, and the
// layout stays readable with every earlier tag.
func TestIndexNeverGrowsPastTheReadLimit(t *testing.T) {
	rtSmallIndexLimit(t, 8<<10)
	ctx := context.Background()
	l, dir := gtCreate(t)
	img := gtManifest(t, l, "x")
	var err error
	n := 0
	for ; n < 1000 && err == nil; n++ {
		err = l.addManifest(ctx, img, "tag-"+strconv.Itoa(n))
	}
	if err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("tagging %d times: %v, want a refusal at the limit", n, err)
	}
	fi, serr := os.Stat(filepath.Join(dir, "index.json"))
	if serr != nil || fi.Size() > maxIndexSize {
		t.Fatalf("index.json is %v bytes (%v), over the %d-byte limit", fi.Size(), serr, maxIndexSize)
	}
	entries, lerr := l.list(ctx)
	if lerr != nil {
		t.Fatalf("the layout is unreadable after the refused tag: %v", lerr)
	}
	if len(entries) != n-1 {
		t.Errorf("%d entries, want the %d tags before the refused one", len(entries), n-1)
	}
	if len(gtTemps(t, dir)) != 0 {
		t.Errorf("temp files left: %v", gtTemps(t, dir))
	}
}

// TestOversizedIndexCanBeRepaired: an index.json over the read limit
// (written by another tool) is refused by readers, but delete and gc read
// it and shrink it until readers accept it again.
func TestOversizedIndexCanBeRepaired(t *testing.T) {
	rtSmallIndexLimit(t, 8<<10)
	ctx := context.Background()
	l, dir := gtCreate(t)
	img := gtManifest(t, l, "x")
	idx, err := l.Index(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 150; i++ {
		d := img
		d.Annotations = map[string]string{imgspecv1.AnnotationRefName: "tag-" + strconv.Itoa(i)}
		idx.Manifests = append(idx.Manifests, d)
	}
	maxIndexSize <<= 2 // as another tool would write it
	if err := l.writeIndex(idx); err != nil {
		t.Fatal(err)
	}
	maxIndexSize >>= 2
	if _, err := l.Index(ctx); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("reading the oversized index.json: %v, want a refusal", err)
	}
	if _, err := l.GC(ctx, DryRun()); err != nil {
		t.Fatalf("gc --dry-run on the oversized index.json: %v", err)
	}
	deleted := 0
	for ; deleted < 150; deleted++ {
		if _, err := l.Index(ctx); err == nil {
			break
		}
		if _, err := l.Delete(ctx, sel(t, "tag-"+strconv.Itoa(deleted))); err != nil {
			t.Fatalf("delete %d on the oversized index.json: %v", deleted, err)
		}
	}
	if deleted == 0 || deleted == 150 {
		t.Fatalf("readable after %d deletes", deleted)
	}
	if _, err := l.Delete(ctx, sel(t, "tag-"+strconv.Itoa(deleted))); err != nil {
		t.Fatal(err) // room for one more tag
	}
	if err := l.addManifest(ctx, img, "after-repair"); err != nil {
		t.Errorf("tagging after the repair: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "index.json")); err != nil || fi.Size() > maxIndexSize {
		t.Errorf("index.json after repair: %v %v", fi, err)
	}
}
