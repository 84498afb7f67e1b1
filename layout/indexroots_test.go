package layout

import (
	"reflect"
	"testing"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestIndexRoots: the roots verify and gc walk from the scanned text give
// the walk the index decoded whole gives, with urls, escapes and invalid
// digests among the entries; plain holds only when no entry can be a
// referrer, and gc then removes what it removed before.
func TestIndexRoots(t *testing.T) {
	named := func(d imgspecv1.Descriptor, name string) imgspecv1.Descriptor {
		d.Annotations = map[string]string{imgspecv1.AnnotationRefName: name}
		return d
	}
	for _, tc := range []struct {
		name  string
		edit  func(a, b imgspecv1.Descriptor) []imgspecv1.Descriptor
		plain bool
	}{
		{"named images", func(a, b imgspecv1.Descriptor) []imgspecv1.Descriptor {
			return []imgspecv1.Descriptor{named(a, "a"), named(b, "b"), named(a, "v1.0")}
		}, true},
		{"an escaped name", func(a, b imgspecv1.Descriptor) []imgspecv1.Descriptor {
			return []imgspecv1.Descriptor{named(a, "é"), named(b, "b")}
		}, true},
		{"an entry with urls", func(a, b imgspecv1.Descriptor) []imgspecv1.Descriptor {
			u := named(b, "foreign")
			u.URLs = []string{"https://example.com/m"}
			return []imgspecv1.Descriptor{named(a, "a"), u}
		}, true},
		{"an invalid digest", func(a, b imgspecv1.Descriptor) []imgspecv1.Descriptor {
			bad := named(b, "bad")
			bad.Digest = "sha256:NOTHEX"
			return []imgspecv1.Descriptor{named(a, "a"), bad}
		}, true},
		{"an untagged entry", func(a, b imgspecv1.Descriptor) []imgspecv1.Descriptor {
			return []imgspecv1.Descriptor{named(a, "a"), b}
		}, false},
		{"a subject annotation", func(a, b imgspecv1.Descriptor) []imgspecv1.Descriptor {
			r := named(b, "r")
			r.Annotations[AnnotationSubject] = a.Digest.String()
			return []imgspecv1.Descriptor{named(a, "a"), r}
		}, false},
		{"a cosign tag", func(a, b imgspecv1.Descriptor) []imgspecv1.Descriptor {
			return []imgspecv1.Descriptor{named(a, "a"), named(b, "sha256-"+a.Digest.Encoded()+".sig")}
		}, false},
		{"a fallback tag of a gone subject", func(a, b imgspecv1.Descriptor) []imgspecv1.Descriptor {
			return []imgspecv1.Descriptor{named(a, "a"), named(b, "sha256-"+digest.FromString("gone").Encoded())}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, _ := gtCreate(t)
			ctx := t.Context()
			a, b := gtManifest(t, l, "a"), gtManifest(t, l, "b")
			must(t, l.updateRaw(ctx, func(idx *imgspecv1.Index) error {
				idx.Manifests = tc.edit(a, b)
				return nil
			}))
			roots, plain, err := l.indexRoots(ctx)
			if err != nil {
				t.Fatal(err)
			}
			idx, err := l.Index(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if plain != tc.plain {
				t.Errorf("plain = %v, want %v", plain, tc.plain)
			}
			if got, want := l.walk(ctx, roots), l.walk(ctx, idx.Manifests); !reflect.DeepEqual(got, want) {
				t.Errorf("the walk from the scanned roots:\n%+v\nfrom the decoded index:\n%+v", got, want)
			}
			if plain {
				orphans, err := l.orphanReferrers(ctx, idx.Manifests)
				if err != nil || len(orphans) != 0 {
					t.Errorf("plain, but orphanReferrers finds %v, %v", orphans, err)
				}
			}
		})
	}
}
