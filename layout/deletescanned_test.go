package layout

import (
	"errors"
	"slices"
	"testing"
	"unsafe"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestDeleteScanned: on a layout where no entry can be a referrer, Delete
// by name, position and digest drops the entries on the scanned text
// (decoding none but them) and leaves what the decoded path leaves: the
// other entries in order, the removed ones reported, and the blobs only
// they reached reclaimed. Where an entry could be a referrer, or the
// selector finds nothing, the scanned path declines and Delete decides
// as before.
func TestDeleteScanned(t *testing.T) {
	type setup struct {
		l       *Layout
		a, b, c imgspecv1.Descriptor
	}
	build := func(t *testing.T, extra func(s setup) []imgspecv1.Descriptor) setup {
		l, _ := gtCreate(t)
		s := setup{l: l, a: gtManifest(t, l, "a"), b: gtManifest(t, l, "b"), c: gtManifest(t, l, "c")}
		must(t, l.updateRaw(t.Context(), func(idx *imgspecv1.Index) error {
			for _, e := range []struct {
				d    imgspecv1.Descriptor
				name string
			}{{s.a, "a1"}, {s.b, "b1"}, {s.a, "a2"}, {s.c, "c1"}} {
				applyTag(idx, e.d, e.name)
			}
			if extra != nil {
				idx.Manifests = append(idx.Manifests, extra(s)...)
			}
			return nil
		}))
		return s
	}
	names := func(t *testing.T, l *Layout) []string {
		t.Helper()
		idx, err := l.Index(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range idx.Manifests {
			out = append(out, entryName(e))
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		sel      func(s setup) Selector
		extra    func(s setup) []imgspecv1.Descriptor
		scanned  bool
		left     []string
		reclaims func(s setup) imgspecv1.Descriptor // the manifest whose blobs go, or zero
		err      error
	}{
		{name: "a name whose image has another", sel: func(setup) Selector { return Selector{kind: selectName, name: "a1"} }, scanned: true, left: []string{"b1", "a2", "c1"}},
		{name: "the only name of an image", sel: func(setup) Selector { return Selector{kind: selectName, name: "c1"} }, scanned: true, left: []string{"a1", "b1", "a2"}, reclaims: func(s setup) imgspecv1.Descriptor { return s.c }},
		{name: "a position", sel: func(setup) Selector { return Selector{kind: selectIndex, index: 1} }, scanned: true, left: []string{"a1", "a2", "c1"}, reclaims: func(s setup) imgspecv1.Descriptor { return s.b }},
		{name: "a digest two entries hold", sel: func(s setup) Selector { return Selector{kind: selectDigest, digest: s.a.Digest} }, scanned: true, left: []string{"b1", "c1"}, reclaims: func(s setup) imgspecv1.Descriptor { return s.a }},
		{name: "a name nobody has", sel: func(setup) Selector { return Selector{kind: selectName, name: "zz"} }, left: []string{"a1", "b1", "a2", "c1"}, err: ErrNotFound},
		{name: "a position past the end", sel: func(setup) Selector { return Selector{kind: selectIndex, index: 9} }, left: []string{"a1", "b1", "a2", "c1"}, err: ErrNotFound},
		{name: "an untagged entry beside", sel: func(setup) Selector { return Selector{kind: selectName, name: "c1"} }, extra: func(s setup) []imgspecv1.Descriptor { return []imgspecv1.Descriptor{s.b} }, left: []string{"a1", "b1", "a2", ""}, reclaims: func(s setup) imgspecv1.Descriptor { return s.c }},
		{name: "a cosign tag beside", sel: func(setup) Selector { return Selector{kind: selectName, name: "b1"} }, extra: func(s setup) []imgspecv1.Descriptor {
			sig := s.c
			sig.Annotations = map[string]string{imgspecv1.AnnotationRefName: "sha256-" + s.a.Digest.Encoded() + ".sig"}
			return []imgspecv1.Descriptor{sig}
		}, left: []string{"a1", "a2", "c1", "sha256-"}, reclaims: func(s setup) imgspecv1.Descriptor { return s.b }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := build(t, tc.extra)
			ctx := t.Context()
			sel := tc.sel(s)
			// The scanned path, asked alone, in a transaction that writes nothing.
			var scanned bool
			errNoWrite := errors.New("no write")
			_ = s.l.Update(ctx, func(tx *IndexTx) error {
				_, scanned = tx.dropScanned(sel)
				return errNoWrite
			})
			if scanned != tc.scanned {
				t.Errorf("scanned path taken: %v, want %v", scanned, tc.scanned)
			}
			before := len(names(t, s.l))
			res, err := s.l.Delete(ctx, sel)
			if !errors.Is(err, tc.err) {
				t.Fatalf("Delete: %v, want %v", err, tc.err)
			}
			got := names(t, s.l)
			for i, n := range got {
				if len(n) > 7 && n[:7] == "sha256-" {
					got[i] = "sha256-"
				}
			}
			if !slices.Equal(got, tc.left) {
				t.Errorf("left %q, want %q", got, tc.left)
			}
			if err != nil {
				return
			}
			if want := before - len(got); len(res.Entries) != want {
				t.Errorf("reported %d removed entries, want %d", len(res.Entries), want)
			}
			for _, d := range []imgspecv1.Descriptor{s.a, s.b, s.c} {
				_, err := s.l.statBlob(ctx, d.Digest)
				gone := tc.reclaims != nil && tc.reclaims(s).Digest == d.Digest
				if gone != (err != nil) {
					t.Errorf("manifest %s: gone %v, want %v", d.Digest, err != nil, gone)
				}
			}
		})
	}
}

// TestDropScannedDetaches: the entries the scanned path removes hold
// strings of their own, not substrings of index.json's text, so that
// Delete's result and gc's candidates do not keep the text alive while
// gc reads index.json again (at 100,000 entries that second text was
// 21 MiB of a delete's 108 MiB peak).
func TestDropScannedDetaches(t *testing.T) {
	l, _ := gtCreate(t)
	a := gtManifest(t, l, "a")
	must(t, l.addManifest(t.Context(), a, "a1"))
	must(t, l.addManifest(t.Context(), a, "a2"))
	errNoWrite := errors.New("no write")
	_ = l.Update(t.Context(), func(tx *IndexTx) error {
		text := tx.list.s.Text
		removed, ok := tx.dropScanned(Selector{kind: selectName, name: "a1"})
		if !ok || len(removed) != 1 {
			t.Fatalf("dropScanned = %v, %v", removed, ok)
		}
		start := uintptr(unsafe.Pointer(unsafe.StringData(text)))
		for _, s := range []string{string(removed[0].Digest), removed[0].MediaType, removed[0].Annotations[imgspecv1.AnnotationRefName]} {
			if p := uintptr(unsafe.Pointer(unsafe.StringData(s))); p >= start && p < start+uintptr(len(text)) {
				t.Errorf("%q is a substring of index.json's text", s)
			}
		}
		return errNoWrite
	})
}
