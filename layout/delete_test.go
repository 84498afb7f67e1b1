package layout

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestDelete(t *testing.T) {
	type fixture struct {
		a, b, multi, inner, sigA mtImage
	}
	// The layout: a (OCI) and b (Docker schema2) share a layer; c is a
	// itself under a second name; multi is an index holding inner; sigA
	// signs a.
	build := func(t *testing.T) (*Layout, string, fixture) {
		l, dir := mtCreate(t)
		var f fixture
		f.a = mtManifest(t, l, imgspecv1.MediaTypeImageManifest, `{"a":1}`, "shared", "only-a")
		mtTag(t, l, f.a, "a")
		f.b = mtManifest(t, l, mediaTypeDockerManifest, `{"b":1}`, "shared", "only-b")
		mtTag(t, l, f.b, "b")
		mtTag(t, l, f.a, "c")
		f.inner = mtManifest(t, l, imgspecv1.MediaTypeImageManifest, `{"inner":1}`, "inner")
		f.multi = mtIndex(t, l, f.inner)
		mtTag(t, l, f.multi, "multi")
		f.sigA = mtReferrer(t, l, f.a.desc, "signature of a")
		return l, dir, f
	}
	sel := func(s string) Selector {
		sel, err := ParseSelector(s)
		if err != nil {
			t.Fatal(err)
		}
		return sel
	}
	for _, tc := range []struct {
		name      string
		sel       func(f fixture) string
		wantNames []string
		gone      func(f fixture) []digest.Digest
		kept      func(f fixture) []digest.Digest
	}{{
		name:      "by name, blobs shared with another name stay",
		sel:       func(f fixture) string { return "a" },
		wantNames: []string{"", "b", "c", "multi"},
		gone:      func(f fixture) []digest.Digest { return nil },
		kept:      func(f fixture) []digest.Digest { return append(f.a.blobs, f.sigA.blobs...) },
	}, {
		name:      "by digest removes every name of it and its signature",
		sel:       func(f fixture) string { return "@" + f.a.desc.Digest.String() },
		wantNames: []string{"b", "multi"},
		gone: func(f fixture) []digest.Digest {
			return append([]digest.Digest{f.a.blobs[0], f.a.blobs[1], f.a.blobs[3]}, f.sigA.blobs...)
		},
		kept: func(f fixture) []digest.Digest { return f.b.blobs }, // including the shared layer
	}, {
		name:      "docker schema2 entry by name, shared layer stays for a",
		sel:       func(f fixture) string { return "b" },
		wantNames: []string{"", "a", "c", "multi"},
		gone:      func(f fixture) []digest.Digest { return []digest.Digest{f.b.blobs[0], f.b.blobs[1], f.b.blobs[3]} },
		kept:      func(f fixture) []digest.Digest { return f.a.blobs },
	}, {
		name:      "by index: @3 is multi, with the manifests inside it",
		sel:       func(f fixture) string { return "@3" },
		wantNames: []string{"", "a", "b", "c"},
		gone:      func(f fixture) []digest.Digest { return f.multi.blobs },
		kept:      func(f fixture) []digest.Digest { return append(f.a.blobs, f.b.blobs...) },
	}} {
		t.Run(tc.name, func(t *testing.T) {
			l, dir, f := build(t)
			res, err := deleteIn(context.Background(), dir, sel(tc.sel(f)))
			if err != nil {
				t.Fatal(err)
			}
			if got := mtNames(t, l); !reflect.DeepEqual(got, tc.wantNames) {
				t.Errorf("names left %q, want %q", got, tc.wantNames)
			}
			mtAssertPresent(t, l, false, tc.gone(f)...)
			mtAssertPresent(t, l, true, tc.kept(f)...)
			if res.Reclaimed == nil || len(res.Reclaimed.Blobs) != len(tc.gone(f)) {
				t.Errorf("reclaimed %+v, want %d blobs", res.Reclaimed, len(tc.gone(f)))
			}
			mtAssertSound(t, l)
		})
	}

	t.Run("errors name the input", func(t *testing.T) {
		_, dir, f := build(t)
		for s, want := range map[string]string{
			"nosuch":                              `name "nosuch"`,
			"@9":                                  "index @9",
			"@" + digest.FromString("x").String(): "manifest " + digest.FromString("x").String(),
			"@" + f.inner.desc.Digest.String():    "inside an index",
		} {
			_, err := deleteIn(context.Background(), dir, sel(s))
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), dir) {
				t.Errorf("Delete(%s) = %v, want an error naming %q and the layout", s, err, want)
			}
			if want != "inside an index" && !errors.Is(err, ErrNotFound) {
				t.Errorf("Delete(%s) error does not wrap ErrNotFound: %v", s, err)
			}
		}
	})
}

// With a shared blob directory the entry goes and no blob is removed:
// another layout may use them.
func TestDeleteSharedBlobDirKeepsBlobs(t *testing.T) {
	shared := filepath.Join(t.TempDir(), "shared")
	a, dirA := mtCreate(t, WithSharedBlobDir(shared))
	img := mtManifest(t, a, imgspecv1.MediaTypeImageManifest, "{}", "x")
	mtTag(t, a, img, "x")
	b, _ := mtCreate(t, WithSharedBlobDir(shared))
	mtTag(t, b, img, "x")
	res, err := deleteIn(context.Background(), dirA, sel(t, "x"), WithSharedBlobDir(shared))
	if err != nil {
		t.Fatal(err)
	}
	if res.Reclaimed != nil || len(res.Entries) != 1 {
		t.Errorf("result %+v", res)
	}
	if names := mtNames(t, a); len(names) != 0 {
		t.Errorf("a still has %q", names)
	}
	mtAssertPresent(t, b, true, img.blobs...)
	mtAssertSound(t, b)
}

func sel(t *testing.T, s string) Selector {
	t.Helper()
	sel, err := ParseSelector(s)
	if err != nil {
		t.Fatal(err)
	}
	return sel
}

func TestDeleteImageZeroSelector(t *testing.T) {
	l, dir := mtCreate(t)
	img := mtManifest(t, l, imgspecv1.MediaTypeImageManifest, "{}", "only")
	mtTag(t, l, img, "only")
	if _, err := deleteIn(context.Background(), dir, Selector{}); err != nil {
		t.Fatal(err)
	}
	mtAssertPresent(t, l, false, img.blobs...)
	mtAssertSound(t, l)
}
