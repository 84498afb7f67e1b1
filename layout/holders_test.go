package layout

import (
	"testing"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestHolder: inside one transaction, through tag adds, moves that
// replace an entry in place, moves that drop one, and referrers whose
// manifest is also tagged as an image, Holder finds what a walk of the
// decoded entries finds (the first entry holding the digest that is no
// referrer), and decodes no entry to find it while the transaction has
// not decoded them all.
func TestHolder(t *testing.T) {
	l, _ := gtCreate(t)
	ctx := t.Context()
	a, b, c, d := gtManifest(t, l, "a"), gtManifest(t, l, "b"), gtManifest(t, l, "c"), gtManifest(t, l, "d")
	sig, err := l.putSignatureArtifact(ctx, a, []byte("sig"))
	if err != nil {
		t.Fatal(err)
	}
	must(t, l.Update(ctx, func(tx *IndexTx) error {
		for _, s := range []struct {
			d    imgspecv1.Descriptor
			name string
		}{{a, "a1"}, {b, "b1"}, {a, "a2"}, {c, "c1"}, {b, "b2"}} {
			if err := tx.Tag(s.d, s.name); err != nil {
				return err
			}
		}
		return tx.AddReferrers(a.Digest, sig)
	}))
	all := []digest.Digest{a.Digest, b.Digest, c.Digest, d.Digest, sig.Digest, digest.FromString("absent")}
	walk := func(tx *IndexTx, dg digest.Digest) (imgspecv1.Descriptor, bool) {
		for _, e := range tx.Entries() {
			if e.Digest == dg && e.Annotations[AnnotationSubject] == "" {
				return e, true
			}
		}
		return imgspecv1.Descriptor{}, false
	}
	steps := []struct {
		name string
		do   func(tx *IndexTx) error
	}{
		{"as read", func(*IndexTx) error { return nil }},
		{"first holder of a moved in place to b", func(tx *IndexTx) error { return tx.Tag(b, "a1") }},
		{"an image added at the end", func(tx *IndexTx) error { return tx.Tag(d, "d1") }},
		{"the referrer's manifest tagged as an image", func(tx *IndexTx) error { return tx.Tag(sig, "sig") }},
		{"a's last holder moved to c", func(tx *IndexTx) error { return tx.Tag(c, "a2") }},
		{"a held again, at the end", func(tx *IndexTx) error { return tx.Tag(a, "a3") }},
		{"a name moved onto the same image", func(tx *IndexTx) error { return tx.Tag(b, "b1") }},
		{"c's holders moved away, dropping c's entries", func(tx *IndexTx) error {
			if err := tx.Tag(d, "c1"); err != nil {
				return err
			}
			return tx.Tag(d, "a2")
		}},
	}
	must(t, l.Update(ctx, func(tx *IndexTx) error {
		for _, s := range steps {
			if err := s.do(tx); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			decodedBefore := tx.list == nil || tx.list.viewed != nil
			for _, dg := range all {
				got, gotOK := tx.Holder(dg)
				if !decodedBefore && (tx.list == nil || tx.list.viewed != nil) {
					t.Fatalf("%s: Holder(%s) decoded every entry", s.name, dg)
				}
				want, wantOK := walk(tx, dg)
				if gotOK != wantOK || gotOK && entryName(got) != entryName(want) {
					t.Errorf("%s: Holder(%s) = %q %v, the walk finds %q %v", s.name, dg, entryName(got), gotOK, entryName(want), wantOK)
				}
				if tx.list != nil {
					tx.list.viewed, tx.list.viewAt = nil, nil // the walk's view, forgotten for the next check
				}
			}
		}
		return nil
	}))
}
