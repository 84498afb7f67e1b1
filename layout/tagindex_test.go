package layout

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestTagIndexMatchesApplyTag: IndexTx.tag (the indexed fast path) leaves
// exactly the entries applyTag's scan leaves, tag after tag, from indexes
// with duplicate names, several nameless entries of one digest, referrers
// of the digests being moved, and interleaved Removes and AddReferrers.
func TestTagIndexMatchesApplyTag(t *testing.T) {
	dg := func(i int) digest.Digest { return digest.FromString(fmt.Sprint(i)) }
	entry := func(d int, name string) imgspecv1.Descriptor {
		e := imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest, Digest: dg(d), Size: int64(d)}
		if name != "" {
			e.Annotations = map[string]string{imgspecv1.AnnotationRefName: name}
		}
		return e
	}
	referrer := func(d, subject int) imgspecv1.Descriptor {
		e := entry(d, "")
		e.Annotations = map[string]string{AnnotationSubject: dg(subject).String()}
		return e
	}
	for _, c := range []struct {
		name    string
		initial []imgspecv1.Descriptor
	}{
		{"empty", nil},
		{"distinct names", []imgspecv1.Descriptor{entry(1, "a"), entry(2, "b"), entry(3, "c")}},
		{"duplicate names", []imgspecv1.Descriptor{entry(1, "a"), entry(2, "a"), entry(3, "b")}},
		{"nameless entries", []imgspecv1.Descriptor{entry(1, ""), entry(1, ""), entry(2, ""), entry(3, "c")}},
		{"referrers of moved digests", []imgspecv1.Descriptor{entry(1, "a"), referrer(50, 1), entry(2, "b"), referrer(51, 2), referrer(52, 9)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(len(c.initial))))
			l, _ := gtCreate(t)
			fast := &IndexTx{l: l, ctx: t.Context(), idx: &imgspecv1.Index{Manifests: clone(c.initial)}}
			slowTx := &IndexTx{l: l, ctx: t.Context(), idx: &imgspecv1.Index{Manifests: clone(c.initial)}}
			slow := slowTx.idx
			names := []string{"", "a", "b", "c", "d", "e"}
			for step := range 400 {
				d, name := 1+rng.IntN(5), names[rng.IntN(len(names))]
				desc := entry(d, "")
				switch rng.IntN(10) {
				case 0: // a Remove drops the index
					drop := func(e imgspecv1.Descriptor) bool { return e.Digest == dg(d) }
					fast.Remove(drop)
					slowTx.Remove(drop) // Remove never uses the map
				case 1: // a nameless entry appended by another verb
					r := referrer(60+step, d)
					fast.tags = nil
					fast.idx.Manifests = append(fast.idx.Manifests, r)
					slow.Manifests = append(slow.Manifests, r)
				default:
					fast.tag(desc, name)
					slowTx.dropOrphansOf(applyTag(slow, desc, name))
				}
				if !reflect.DeepEqual(fast.idx.Manifests, slow.Manifests) {
					t.Fatalf("step %d (%s of %d): indexed\n%v\nscan\n%v", step, name, d, fast.idx.Manifests, slow.Manifests)
				}
			}
		})
	}
}

func clone(es []imgspecv1.Descriptor) []imgspecv1.Descriptor {
	out := make([]imgspecv1.Descriptor, len(es))
	for i, e := range es {
		e.Annotations = cloneMap(e.Annotations)
		out[i] = e
	}
	return out
}

// BenchmarkTagInto100k names 256 new tags of one image in one transaction
// of an index of 100,000 entries (one batch of a large sync), with the
// indexed path and with applyTag's scan per tag.
//
//	go test -tags "$TAGS" -run '^$' -bench BenchmarkTagInto100k ./layout
func BenchmarkTagInto100k(b *testing.B) {
	d := imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest, Digest: digest.FromString("image"), Size: 2}
	base := make([]imgspecv1.Descriptor, 100000)
	for i := range base {
		base[i] = d
		base[i].Annotations = map[string]string{imgspecv1.AnnotationRefName: fmt.Sprintf("reg/app:t%d", i)}
	}
	for _, bc := range []struct {
		name string
		tag  func(tx *IndexTx, name string)
	}{
		{"indexed", func(tx *IndexTx, name string) { tx.tag(d, name) }},
		{"scan", func(tx *IndexTx, name string) { applyTag(tx.idx, d, name) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				tx := &IndexTx{idx: &imgspecv1.Index{Manifests: append([]imgspecv1.Descriptor(nil), base...)}}
				for i := range 256 {
					bc.tag(tx, fmt.Sprintf("reg/app:n%d", i))
				}
			}
		})
	}
}
