package layout

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestAttachRecordsAnEntryPerRoot: Attach returns the stored referrers, one
// per artifact, and records each once for a top-level subject and once per
// index holding an instance subject (with that index as subject root), so
// that the referrer goes with whichever index is deleted last.
func TestAttachRecordsAnEntryPerRoot(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		indexes   int // top-level indexes holding the subject; 0: the subject is itself top-level
		artifacts int
	}{
		{"top-level subject, one artifact", 0, 1},
		{"top-level subject, two artifacts", 0, 2},
		{"instance in one index", 1, 1},
		{"instance in two indexes, two artifacts", 2, 2},
		{"instance in three indexes", 3, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, _ := gtCreate(t)
			subject := putTestManifest(t, l, 1)
			wantRoots := map[string]bool{}
			wantTagRoot := ""
			if tc.indexes == 0 {
				must(t, l.addManifest(ctx, subject, "app"))
				wantRoots[""] = true
			}
			for i := range tc.indexes {
				list, _ := json.Marshal(imgspecv1.Index{Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageIndex,
					Manifests: []imgspecv1.Descriptor{subject}, Annotations: map[string]string{"i": string(rune('a' + i))}})
				ld, err := l.putBytes(ctx, list)
				must(t, err)
				must(t, l.addManifest(ctx, imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageIndex, Digest: ld, Size: int64(len(list))}, "list"+string(rune('a'+i))))
				wantRoots[ld.String()] = true
				if tc.indexes == 1 {
					wantTagRoot = ld.String()
				}
			}
			var as []Artifact
			for i := range tc.artifacts {
				sig := []byte("signature " + string(rune('a'+i)))
				sd, err := l.putBytes(ctx, sig)
				must(t, err)
				as = append(as, sigArtifact(sd, sig))
			}
			refs, err := l.Attach(ctx, subject, as...)
			must(t, err)
			if len(refs) != tc.artifacts {
				t.Fatalf("Attach returned %d referrers, want %d", len(refs), tc.artifacts)
			}
			idx, err := l.Index(ctx)
			must(t, err)
			for _, r := range refs {
				if _, err := l.ReadBlob(ctx, r.Digest, r.Size); err != nil {
					t.Errorf("returned referrer %s is not stored: %v", r.Digest, err)
				}
				roots := map[string]bool{}
				for _, e := range idx.Manifests {
					if e.Digest == r.Digest && e.Annotations[AnnotationSubject] == subject.Digest.String() {
						if roots[e.Annotations[AnnotationSubjectRoot]] {
							t.Errorf("referrer %s recorded twice for root %q", r.Digest, e.Annotations[AnnotationSubjectRoot])
						}
						roots[e.Annotations[AnnotationSubjectRoot]] = true
					}
				}
				if !equalSets(roots, wantRoots) {
					t.Errorf("referrer %s recorded for roots %v, want %v", r.Digest, roots, wantRoots)
				}
			}
			tagged := false
			for _, e := range idx.Manifests {
				if entryName(e) == referrersTag(subject.Digest) {
					tagged = true
					if got := e.Annotations[AnnotationSubjectRoot]; got != wantTagRoot {
						t.Errorf("fallback tag's subject root %q, want %q", got, wantTagRoot)
					}
				}
			}
			if !tagged {
				t.Errorf("no fallback tag %s", referrersTag(subject.Digest))
			}
			got, err := l.Referrers(ctx, subject.Digest, "")
			must(t, err)
			if n := distinctDigests(got); n != tc.artifacts {
				t.Errorf("Referrers lists %d distinct referrers, want %d", n, tc.artifacts)
			}
		})
	}
}

func equalSets(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func distinctDigests(ds []imgspecv1.Descriptor) int {
	seen := map[digest.Digest]bool{}
	for _, d := range ds {
		seen[d.Digest] = true
	}
	return len(seen)
}
