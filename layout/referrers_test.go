package layout

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// putTestManifest stores a small distinct manifest and returns its descriptor.
func putTestManifest(t *testing.T, l *Layout, n int) imgspecv1.Descriptor {
	t.Helper()
	data := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[],"annotations":{"n":"%d"}}`, imgspecv1.MediaTypeImageManifest, n))
	d, err := l.PutBlobBytes(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	return imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest, Digest: d, Size: int64(len(data))}
}

func TestSignatures(t *testing.T) {
	ctx := context.Background()
	type step struct {
		image int      // which image (0 or 1) to tag "app" before signing; -1: none
		sign  int      // image to sign
		sigs  []string // signatures to add
	}
	for _, tc := range []struct {
		name  string
		steps []step
		want  map[int][]string // signatures per image afterwards
	}{
		{"write order kept", []step{{0, 0, []string{"b", "a"}}, {-1, 0, []string{"c"}}}, map[int][]string{0: {"b", "a", "c"}, 1: nil}},
		{"re-adding does not duplicate", []step{{0, 0, []string{"a", "b"}}, {-1, 0, []string{"b", "a", "a"}}}, map[int][]string{0: {"a", "b"}}},
		{"per subject", []step{{0, 0, []string{"a"}}, {-1, 1, []string{"z"}}}, map[int][]string{0: {"a"}, 1: {"z"}}},
		{"tag move drops the old image's signatures", []step{{0, 0, []string{"a"}}, {1, 1, []string{"z"}}}, map[int][]string{0: nil, 1: {"z"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := Create(filepath.Join(t.TempDir(), "l"))
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			imgs := []imgspecv1.Descriptor{putTestManifest(t, l, 0), putTestManifest(t, l, 1)}
			for _, s := range tc.steps {
				if s.image >= 0 {
					if err := l.AddManifest(ctx, imgs[s.image], "app"); err != nil {
						t.Fatal(err)
					}
				}
				var sigs [][]byte
				for _, x := range s.sigs {
					sigs = append(sigs, []byte(x))
				}
				if err := l.AddSignatures(ctx, imgs[s.sign], sigs); err != nil {
					t.Fatal(err)
				}
			}
			idx, err := l.Index(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range tc.want {
				got, err := l.Signatures(ctx, idx, imgs[i].Digest)
				if err != nil {
					t.Fatal(err)
				}
				var gotS []string
				for _, g := range got {
					gotS = append(gotS, string(g))
				}
				if !slices.Equal(gotS, want) {
					t.Errorf("image %d: signatures %q, want %q", i, gotS, want)
				}
				checkReferrersTag(t, l, idx, imgs[i].Digest.String(), len(want))
			}
			// Referrers never make a layout ambiguous when opened without a name.
			if _, err := l.Resolve(ctx, idx, Selector{}); err != nil {
				t.Errorf("Resolve without a selector: %v", err)
			}
		})
	}
}

// checkReferrersTag checks that the fallback tag of subject lists n
// referrers, or is absent when n is 0.
func checkReferrersTag(t *testing.T, l *Layout, idx *imgspecv1.Index, subject string, n int) {
	t.Helper()
	tag := "sha256-" + strings.TrimPrefix(subject, "sha256:")
	for _, e := range idx.Manifests {
		if entryName(e) != tag {
			continue
		}
		list, err := l.ReadIndexBlob(context.Background(), e)
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Manifests) != n {
			t.Errorf("fallback tag %s lists %d referrers, want %d", tag, len(list.Manifests), n)
		}
		for _, d := range list.Manifests {
			if d.ArtifactType != ArtifactTypeSimpleSigning {
				t.Errorf("fallback tag %s lists %s with artifactType %q", tag, d.Digest, d.ArtifactType)
			}
		}
		return
	}
	if n != 0 {
		t.Errorf("no fallback tag %s in index.json", tag)
	}
}

// TestSignaturesRefuseMovedArtifact: an index.json edited to list image
// A's signature artifact as a referrer of image B must not make B signed.
func TestSignaturesRefuseMovedArtifact(t *testing.T) {
	ctx := context.Background()
	l, err := Create(filepath.Join(t.TempDir(), "l"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	a, b := putTestManifest(t, l, 0), putTestManifest(t, l, 1)
	if err := l.AddSignatures(ctx, a, [][]byte{[]byte("sig")}); err != nil {
		t.Fatal(err)
	}
	err = l.UpdateIndex(ctx, func(idx *imgspecv1.Index) error {
		for i, e := range idx.Manifests {
			if e.ArtifactType == ArtifactTypeSimpleSigning {
				idx.Manifests[i].Annotations = map[string]string{AnnotationSubject: b.Digest.String()}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	idx, err := l.Index(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sigs, err := l.Signatures(ctx, idx, b.Digest); err == nil || !strings.Contains(err.Error(), "its subject is") {
		t.Fatalf("Signatures of B = %q, %v; want a subject mismatch error", sigs, err)
	}
	raw, _ := json.Marshal(idx)
	if !strings.Contains(string(raw), ArtifactTypeSimpleSigning) {
		t.Fatalf("index.json entries lost their artifactType: %s", raw)
	}
}

// TestInstanceReferrersFollowTheirIndex: referrers of an instance, marked
// with the index they were committed with, are dropped by the tag move
// that drops that index, but kept while another index holding the same
// instance (and its own entry) remains.
func TestInstanceReferrersFollowTheirIndex(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		rootsUsed []int // indexes (0, 1) that are committed with the instance's signature
		moveTo    int   // index tagged "app" last; index 0 was tagged first
		want      int   // signatures of the instance left
	}{
		{"only index dropped", []int{0}, 1, 0},
		{"other index keeps its entry", []int{0, 1}, 1, 1},
		{"no move", []int{0}, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := Create(filepath.Join(t.TempDir(), "l"))
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			inst := putTestManifest(t, l, 7)
			roots := []imgspecv1.Descriptor{putTestManifest(t, l, 100), putTestManifest(t, l, 101)}
			ref, err := l.PutSignatureArtifact(ctx, inst, []byte("sig"))
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range tc.rootsUsed {
				rr := ref
				rr.Annotations = map[string]string{AnnotationSubject: inst.Digest.String(), AnnotationSubjectRoot: roots[r].Digest.String()}
				err := l.UpdateIndex(ctx, func(idx *imgspecv1.Index) error {
					if err := ApplyAddManifest(idx, roots[r], fmt.Sprintf("r%d", r)); err != nil {
						return err
					}
					return l.ApplyReferrers(ctx, idx, inst.Digest, []imgspecv1.Descriptor{rr})
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			// Give index 0 the name "app" only (its r0 name moves away), then
			// move "app" as the test says.
			if err := l.AddManifest(ctx, roots[0], "app"); err != nil {
				t.Fatal(err)
			}
			if err := l.AddManifest(ctx, putTestManifest(t, l, 200), "r0"); err != nil {
				t.Fatal(err)
			}
			if err := l.AddManifest(ctx, roots[tc.moveTo], "app"); err != nil {
				t.Fatal(err)
			}
			idx, err := l.Index(ctx)
			if err != nil {
				t.Fatal(err)
			}
			sigs, err := l.Signatures(ctx, idx, inst.Digest)
			if err != nil {
				t.Fatal(err)
			}
			if len(sigs) != tc.want {
				t.Errorf("%d signatures of the instance left, want %d; index.json: %+v", len(sigs), tc.want, idx.Manifests)
			}
		})
	}
}

// TestAddSignaturesToInstance: signing an instance (ocilayout sign
// PATH:@DIGEST) ties its signature to the index holding it.
func TestAddSignaturesToInstance(t *testing.T) {
	ctx := context.Background()
	l, err := Create(filepath.Join(t.TempDir(), "l"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	inst := putTestManifest(t, l, 1)
	list, _ := json.Marshal(imgspecv1.Index{MediaType: imgspecv1.MediaTypeImageIndex, Manifests: []imgspecv1.Descriptor{inst}, Versioned: imgspec.Versioned{SchemaVersion: 2}})
	ld, err := l.PutBlobBytes(ctx, list)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.AddManifest(ctx, imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageIndex, Digest: ld, Size: int64(len(list))}, "app"); err != nil {
		t.Fatal(err)
	}
	if err := l.AddSignatures(ctx, inst, [][]byte{[]byte("sig")}); err != nil {
		t.Fatal(err)
	}
	idx, _ := l.Index(ctx)
	if sigs, err := l.Signatures(ctx, idx, inst.Digest); err != nil || len(sigs) != 1 {
		t.Fatalf("Signatures of the instance = %q, %v", sigs, err)
	}
	if err := l.AddManifest(ctx, putTestManifest(t, l, 2), "app"); err != nil {
		t.Fatal(err)
	}
	idx, _ = l.Index(ctx)
	for _, e := range idx.Manifests {
		if e.Annotations[AnnotationSubject] != "" {
			t.Errorf("referrer entry %s (%q) survived the drop of its index", e.Digest, entryName(e))
		}
	}
}

// TestReferrersTagFromOtherTools: a referrers fallback tag written by
// another tool is read (its signatures count) and, when ocilayout adds a
// signature, its other referrers stay listed.
func TestReferrersTagFromOtherTools(t *testing.T) {
	ctx := context.Background()
	l, err := Create(filepath.Join(t.TempDir(), "l"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	img := putTestManifest(t, l, 0)
	if err := l.AddManifest(ctx, img, "app"); err != nil {
		t.Fatal(err)
	}
	foreignSig, err := l.PutSignatureArtifact(ctx, img, []byte("from elsewhere"))
	if err != nil {
		t.Fatal(err)
	}
	sbom := putTestManifest(t, l, 9)
	sbom.ArtifactType = "application/spdx+json"
	tagIndex, _ := json.Marshal(imgspecv1.Index{Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageIndex,
		Manifests: []imgspecv1.Descriptor{{MediaType: foreignSig.MediaType, ArtifactType: foreignSig.ArtifactType, Digest: foreignSig.Digest, Size: foreignSig.Size}, sbom}})
	td, err := l.PutBlobBytes(ctx, tagIndex)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.AddManifest(ctx, imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageIndex, Digest: td, Size: int64(len(tagIndex))}, ReferrersTag(img.Digest)); err != nil {
		t.Fatal(err)
	}
	idx, _ := l.Index(ctx)
	if sigs, err := l.Signatures(ctx, idx, img.Digest); err != nil || len(sigs) != 1 || string(sigs[0]) != "from elsewhere" {
		t.Fatalf("signatures listed only by the tag: %q, %v", sigs, err)
	}
	if err := l.AddSignatures(ctx, img, [][]byte{[]byte("ours")}); err != nil {
		t.Fatal(err)
	}
	idx, _ = l.Index(ctx)
	for _, e := range idx.Manifests {
		if entryName(e) != ReferrersTag(img.Digest) {
			continue
		}
		list, err := l.ReadIndexBlob(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, d := range list.Manifests {
			types = append(types, d.ArtifactType)
		}
		if !slices.Equal(types, []string{ArtifactTypeSimpleSigning, ArtifactTypeSimpleSigning, "application/spdx+json"}) {
			t.Errorf("rewritten tag lists %q; want ours, then the other tool's signature and SBOM", types)
		}
	}
	if sigs, err := l.Signatures(ctx, idx, img.Digest); err != nil || len(sigs) != 2 || string(sigs[0]) != "ours" {
		t.Fatalf("signatures after adding ours: %q, %v", sigs, err)
	}
}
