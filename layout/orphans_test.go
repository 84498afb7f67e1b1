package layout

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"testing"

	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// otPut stores v as JSON and returns its descriptor of mediaType.
func otPut(t *testing.T, l *Layout, mediaType string, v any) imgspecv1.Descriptor {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	d, err := l.putBytes(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	return imgspecv1.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(data))}
}

// otManifest stores an artifact manifest (empty config, one layer made of
// seed) with subject, if not nil, as oras attach writes it, and returns the
// descriptor oras-go records in index.json: artifactType, no annotation of
// ours.
func otManifest(t *testing.T, l *Layout, subject *imgspecv1.Descriptor, artifactType, seed string) imgspecv1.Descriptor {
	t.Helper()
	ctx := context.Background()
	cd, err := l.putBytes(ctx, emptyJSON)
	if err != nil {
		t.Fatal(err)
	}
	ld, err := l.putBytes(ctx, []byte(seed))
	if err != nil {
		t.Fatal(err)
	}
	var s *imgspecv1.Descriptor
	if subject != nil {
		s = &imgspecv1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}
	}
	d := otPut(t, l, imgspecv1.MediaTypeImageManifest, imgspecv1.Manifest{
		Versioned:    imgspec.Versioned{SchemaVersion: 2},
		MediaType:    imgspecv1.MediaTypeImageManifest,
		ArtifactType: artifactType,
		Config:       imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeEmptyJSON, Digest: cd, Size: 2},
		Layers:       []imgspecv1.Descriptor{{MediaType: "application/octet-stream", Digest: ld, Size: int64(len(seed))}},
		Subject:      s,
	})
	d.ArtifactType = artifactType
	return d
}

// otIndex stores an index listing ms.
func otIndex(t *testing.T, l *Layout, ms ...imgspecv1.Descriptor) imgspecv1.Descriptor {
	t.Helper()
	return otPut(t, l, imgspecv1.MediaTypeImageIndex, imgspecv1.Index{Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageIndex, Manifests: ms})
}

// otNamed is d as an index.json entry with name, and annotation k=v unless k is "".
func otNamed(d imgspecv1.Descriptor, name string, kv ...string) imgspecv1.Descriptor {
	d.Annotations = map[string]string{}
	if name != "" {
		d.Annotations[imgspecv1.AnnotationRefName] = name
	}
	for i := 0; i+1 < len(kv); i += 2 {
		d.Annotations[kv[i]] = kv[i+1]
	}
	if len(d.Annotations) == 0 {
		d.Annotations = nil
	}
	return d
}

// TestForeignReferrersLeaveWithTheirSubject: referrers written the way
// oras, notation, regclient and cosign write them, and ours, leave with
// their subject in the transaction that removes it (delete, a tag move,
// IndexTx.Remove) or at gc after another tool removed it, referrers of
// referrers included; a user's names and images, and referrers whose
// subject is still in the layout, stay.
func TestForeignReferrersLeaveWithTheirSubject(t *testing.T) {
	ctx := context.Background()
	type built map[string]imgspecv1.Descriptor // label → index.json entry
	for _, tc := range []struct {
		name  string
		build func(t *testing.T, l *Layout, app imgspecv1.Descriptor) built
		keep  []string // labels of entries that stay
	}{
		{"oras attach: untagged, subject only in the manifest, and its signature", func(t *testing.T, l *Layout, app imgspecv1.Descriptor) built {
			sbom := otManifest(t, l, &app, "application/spdx+json", "sbom")
			return built{"sbom": sbom, "sig": otManifest(t, l, &sbom, "application/vnd.cncf.notary.signature", "sig")}
		}, nil},
		{"regclient: fallback tag index, and the fallback tag of what it lists", func(t *testing.T, l *Layout, app imgspecv1.Descriptor) built {
			sbom := otManifest(t, l, &app, "application/spdx+json", "sbom")
			sig := otManifest(t, l, &sbom, "application/vnd.cncf.notary.signature", "sig")
			return built{
				"tag":    otNamed(otIndex(t, l, sbom), referrersTag(app.Digest)),
				"sigtag": otNamed(otIndex(t, l, sig), referrersTag(sbom.Digest)),
			}
		}, nil},
		{"cosign tags, and a signature of the signature", func(t *testing.T, l *Layout, app imgspecv1.Descriptor) built {
			sig := otManifest(t, l, nil, "", "cosign sig")
			return built{
				"sig":    otNamed(sig, referrersTag(app.Digest)+".sig"),
				"att":    otNamed(otManifest(t, l, nil, "", "cosign att"), referrersTag(app.Digest)+".att"),
				"sbom":   otNamed(otManifest(t, l, nil, "", "cosign sbom"), referrersTag(app.Digest)+".sbom"),
				"sigsig": otNamed(otManifest(t, l, nil, "", "cosign sig of sig"), referrersTag(sig.Digest)+".sig"),
			}
		}, nil},
		{"ours: a signature of an SBOM", func(t *testing.T, l *Layout, app imgspecv1.Descriptor) built {
			sbom := otManifest(t, l, &app, "application/spdx+json", "sbom")
			sig := otManifest(t, l, &sbom, "application/vnd.cncf.notary.signature", "sig")
			return built{
				"sbom": otNamed(sbom, "", AnnotationSubject, app.Digest.String()),
				"sig":  otNamed(sig, "", AnnotationSubject, sbom.Digest.String()),
			}
		}, nil},
		{"a user's names and images stay", func(t *testing.T, l *Layout, app imgspecv1.Descriptor) built {
			other := gtManifest(t, l, "other")
			return built{
				"tagged referrer":          otNamed(otManifest(t, l, &app, "application/spdx+json", "named"), "mysbom"),
				"image named like a tag":   otNamed(otIndex(t, l, gtManifest(t, l, "platform")), referrersTag(app.Digest)),
				"untagged image":           gtManifest(t, l, "untagged"),
				"other":                    otNamed(other, "other"),
				"cosign tag of a live one": otNamed(otManifest(t, l, nil, "", "live sig"), referrersTag(other.Digest)+".sig"),
				"referrer of a live one":   otManifest(t, l, &other, "application/spdx+json", "live sbom"),
			}
		}, []string{"tagged referrer", "image named like a tag", "untagged image", "other", "cosign tag of a live one", "referrer of a live one"}},
		{"a subject still inside another index keeps its referrers", func(t *testing.T, l *Layout, app imgspecv1.Descriptor) built {
			sbom := otManifest(t, l, &app, "application/spdx+json", "sbom")
			return built{
				"multi": otNamed(otIndex(t, l, app), "multi"),
				"sbom":  sbom,
				"sig":   otNamed(otManifest(t, l, nil, "", "cosign sig"), referrersTag(app.Digest)+".sig"),
				"ours":  otNamed(otManifest(t, l, &app, "application/vnd.example", "ours"), "", AnnotationSubject, app.Digest.String()),
			}
		}, []string{"multi", "sbom", "sig", "ours"}},
	} {
		for _, op := range []struct {
			name string
			run  func(t *testing.T, l *Layout, app imgspecv1.Descriptor) error
		}{
			{"delete", func(t *testing.T, l *Layout, _ imgspecv1.Descriptor) error {
				_, err := l.Delete(ctx, sel(t, "app"))
				return err
			}},
			{"tag move", func(t *testing.T, l *Layout, _ imgspecv1.Descriptor) error {
				return l.addManifest(ctx, gtManifest(t, l, "new app"), "app")
			}},
			{"IndexTx.Remove", func(t *testing.T, l *Layout, app imgspecv1.Descriptor) error {
				return l.Update(ctx, func(tx *IndexTx) error {
					tx.Remove(func(e imgspecv1.Descriptor) bool { return entryName(e) == "app" })
					return nil
				})
			}},
			{"gc after another tool removed it", func(t *testing.T, l *Layout, _ imgspecv1.Descriptor) error {
				if err := l.updateRaw(ctx, func(idx *imgspecv1.Index) error {
					idx.Manifests = slices.DeleteFunc(idx.Manifests, func(e imgspecv1.Descriptor) bool { return entryName(e) == "app" })
					return nil
				}); err != nil {
					return err
				}
				_, err := l.GC(ctx)
				return err
			}},
		} {
			t.Run(tc.name+"/"+op.name, func(t *testing.T) {
				l, _ := gtCreate(t)
				app := gtManifest(t, l, "app")
				if err := l.addManifest(ctx, app, "app"); err != nil {
					t.Fatal(err)
				}
				b := tc.build(t, l, app)
				labels := make([]string, 0, len(b))
				for k := range b {
					labels = append(labels, k)
				}
				sort.Strings(labels)
				// Written as the other tools write them: straight into
				// index.json, no verb of ours.
				if err := l.updateRaw(ctx, func(idx *imgspecv1.Index) error {
					for _, k := range labels {
						idx.Manifests = append(idx.Manifests, b[k])
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				if err := op.run(t, l, app); err != nil {
					t.Fatal(err)
				}
				idx, err := l.Index(ctx)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, k := range labels {
					if slices.ContainsFunc(idx.Manifests, func(e imgspecv1.Descriptor) bool {
						return e.Digest == b[k].Digest && entryName(e) == entryName(b[k])
					}) {
						got = append(got, k)
					}
				}
				want := slices.Clone(tc.keep)
				sort.Strings(want)
				if !slices.Equal(got, want) {
					t.Errorf("entries left %q, want %q", got, want)
				}
				// What they left is garbage gc reclaims, and the layout is sound.
				if _, err := l.GC(ctx); err != nil {
					t.Fatal(err)
				}
				if rep, err := l.Verify(ctx); err != nil || len(rep.Problems) != 0 {
					t.Errorf("verify: %v %v", err, rep.Problems)
				}
			})
		}
	}
}

// TestTagSubject: the names whose subject the engine reads, and those it
// leaves to the user.
func TestTagSubject(t *testing.T) {
	hex := digest.FromString("x").Encoded()
	for _, tc := range []struct {
		name   string
		want   digest.Digest
		cosign bool
	}{
		{"sha256-" + hex, digest.Digest("sha256:" + hex), false},
		{"sha256-" + hex + ".sig", digest.Digest("sha256:" + hex), true},
		{"sha256-" + hex + ".att", digest.Digest("sha256:" + hex), true},
		{"sha256-" + hex + ".sbom", digest.Digest("sha256:" + hex), true},
		{"sha256-" + hex + ".txt", "", false},
		{"sha256-" + hex[:10], "", false},
		{"latest", "", false},
		{"md5-" + hex, "", false},
	} {
		d, cosign, ok := tagSubject(tc.name)
		if d != tc.want || cosign != tc.cosign || ok != (tc.want != "") {
			t.Errorf("tagSubject(%q) = %q, %v, %v; want %q, %v", tc.name, d, cosign, ok, tc.want, tc.cosign)
		}
	}
}

// TestInstanceReferrersLeaveWithTheirIndex: referrers other tools wrote
// for the instances of an index (cosign sign --recursive tags each
// instance; oras attaches to one) leave in the transaction that drops the
// index, unless the instance is still in the layout through another index.
func TestInstanceReferrersLeaveWithTheirIndex(t *testing.T) {
	ctx := context.Background()
	for _, op := range []struct {
		name string
		run  func(t *testing.T, l *Layout) error
	}{
		{"tag move", func(t *testing.T, l *Layout) error {
			return l.addManifest(ctx, gtManifest(t, l, "new app"), "app")
		}},
		{"delete", func(t *testing.T, l *Layout) error {
			_, err := l.Delete(ctx, sel(t, "app"))
			return err
		}},
		{"IndexTx.Remove", func(t *testing.T, l *Layout) error {
			return l.Update(ctx, func(tx *IndexTx) error {
				tx.Remove(func(e imgspecv1.Descriptor) bool { return entryName(e) == "app" })
				return nil
			})
		}},
	} {
		t.Run(op.name, func(t *testing.T) {
			l, _ := gtCreate(t)
			m1, m2, shared := gtManifest(t, l, "amd64"), gtManifest(t, l, "arm64"), gtManifest(t, l, "shared")
			app := otIndex(t, l, m1, m2, shared)
			if err := l.addManifest(ctx, app, "app"); err != nil {
				t.Fatal(err)
			}
			if err := l.addManifest(ctx, otIndex(t, l, shared), "other"); err != nil {
				t.Fatal(err)
			}
			entries := map[string]imgspecv1.Descriptor{
				"sig of m1":     otNamed(otManifest(t, l, nil, "", "sig m1"), referrersTag(m1.Digest)+".sig"),
				"sbom of m2":    otManifest(t, l, &m2, "application/spdx+json", "sbom m2"),
				"sig of shared": otNamed(otManifest(t, l, nil, "", "sig shared"), referrersTag(shared.Digest)+".sig"),
			}
			if err := l.updateRaw(ctx, func(idx *imgspecv1.Index) error {
				for _, k := range []string{"sig of m1", "sbom of m2", "sig of shared"} {
					idx.Manifests = append(idx.Manifests, entries[k])
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if err := op.run(t, l); err != nil {
				t.Fatal(err)
			}
			idx, err := l.Index(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var left []string
			for k, d := range entries {
				if slices.ContainsFunc(idx.Manifests, func(e imgspecv1.Descriptor) bool { return e.Digest == d.Digest }) {
					left = append(left, k)
				}
			}
			sort.Strings(left)
			if !slices.Equal(left, []string{"sig of shared"}) {
				t.Errorf("after the %s of the index, entries left %q, want only %q", op.name, left, "sig of shared")
			}
		})
	}
}
