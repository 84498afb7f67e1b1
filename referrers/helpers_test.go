package referrers

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/ocilayout/ocilayout/internal/layouttest"
	"github.com/ocilayout/ocilayout/layout"
	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

const (
	sbomType = "application/spdx+json"
	attType  = "application/vnd.in-toto+json"
	sigType  = "application/vnd.example.signature"
)

func must(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func newLayout(t testing.TB) *layout.Layout {
	t.Helper()
	l, err := layout.Create(filepath.Join(t.TempDir(), "l"))
	must(t, err, "creating layout")
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func putJSON(t testing.TB, l *layout.Layout, mediaType string, v any) imgspecv1.Descriptor {
	t.Helper()
	data, err := json.Marshal(v)
	must(t, err, "encoding")
	d, err := layouttest.PutBytes(l, context.Background(), data)
	must(t, err, "putting blob")
	return imgspecv1.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(data))}
}

// putImage stores a one-layer image whose layer holds content and returns
// its manifest's descriptor (not recorded in index.json).
func putImage(t testing.TB, l *layout.Layout, content string) imgspecv1.Descriptor {
	t.Helper()
	ctx := context.Background()
	layer := []byte(content)
	ld, err := layouttest.PutBytes(l, ctx, layer)
	must(t, err, "putting layer")
	cfg := putJSON(t, l, imgspecv1.MediaTypeImageConfig, map[string]any{"architecture": "amd64", "os": "linux", "rootfs": map[string]any{"type": "layers", "diff_ids": []string{ld.String()}}})
	return putJSON(t, l, imgspecv1.MediaTypeImageManifest, imgspecv1.Manifest{
		Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageManifest,
		Config: cfg, Layers: []imgspecv1.Descriptor{{MediaType: imgspecv1.MediaTypeImageLayer, Digest: ld, Size: int64(len(layer))}},
	})
}

// putForeignReferrer stores a referrer manifest of subject as oras-go
// writes one: the manifest has the subject, its untagged index.json entry
// has the artifactType and no annotation of ours.
func putForeignReferrer(t testing.TB, l *layout.Layout, subject imgspecv1.Descriptor, artifactType, content string) imgspecv1.Descriptor {
	t.Helper()
	ctx := context.Background()
	blob := []byte(content)
	bd, err := layouttest.PutBytes(l, ctx, blob)
	must(t, err, "putting artifact blob")
	empty := putJSON(t, l, imgspecv1.MediaTypeEmptyJSON, struct{}{})
	empty.MediaType = imgspecv1.MediaTypeEmptyJSON
	d := putJSON(t, l, imgspecv1.MediaTypeImageManifest, imgspecv1.Manifest{
		Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageManifest, ArtifactType: artifactType,
		Config: empty, Layers: []imgspecv1.Descriptor{{MediaType: "application/octet-stream", Digest: bd, Size: int64(len(blob))}},
		Subject: &imgspecv1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
	})
	d.ArtifactType = artifactType
	must(t, layouttest.Tag(l, ctx, d, ""), "recording foreign referrer")
	return d
}

// putCosignTag stores a cosign-style attachment of subject (a manifest
// without subject) under the tag cosign gives it.
func putCosignTag(t testing.TB, l *layout.Layout, subject digest.Digest, suffix, content string) imgspecv1.Descriptor {
	t.Helper()
	ctx := context.Background()
	blob := []byte(content)
	bd, err := layouttest.PutBytes(l, ctx, blob)
	must(t, err, "putting cosign payload")
	cfg := putJSON(t, l, imgspecv1.MediaTypeImageConfig, map[string]any{"architecture": "", "os": "", "rootfs": map[string]any{"type": "layers", "diff_ids": []string{bd.String()}}})
	d := putJSON(t, l, imgspecv1.MediaTypeImageManifest, imgspecv1.Manifest{
		Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageManifest,
		Config: cfg, Layers: []imgspecv1.Descriptor{{MediaType: "application/vnd.dev.cosign.simplesigning.v1+json", Digest: bd, Size: int64(len(blob))}},
	})
	must(t, layouttest.Tag(l, ctx, d, CosignTag(subject, suffix)), "tagging cosign attachment")
	return d
}

func attach(t testing.TB, l *layout.Layout, subject imgspecv1.Descriptor, artifactType, content string) imgspecv1.Descriptor {
	t.Helper()
	ctx := context.Background()
	blob := []byte(content)
	bd, err := layouttest.PutBytes(l, ctx, blob)
	must(t, err, "putting artifact blob")
	rs, err := l.Attach(ctx, subject, layout.Artifact{ArtifactType: artifactType, Layers: []imgspecv1.Descriptor{{MediaType: "application/octet-stream", Digest: bd, Size: int64(len(blob))}}})
	must(t, err, "attaching")
	return rs[0]
}

// flat renders a listing as "SOURCE TYPE DIGEST" lines, children indented.
func flat(rs []Referrer, indent string, out *[]string) {
	for _, r := range rs {
		*out = append(*out, indent+r.Source+" "+r.ArtifactType+" "+r.Digest.Encoded()[:8])
		flat(r.Referrers, indent+"  ", out)
	}
}
