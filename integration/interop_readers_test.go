package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	ggcrlayout "github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/oci"
)

// ioRichLayout is a layout our CLI wrote holding plain images, a
// multi-arch index copied with --all, and a signed image (its signature
// an OCI artifact plus the sha256-<hex> referrers tag).
func ioRichLayout(t *testing.T) (string, map[string]digest.Digest) {
	t.Helper()
	dir, want := ioCLILayout(t, ioInteropImages)
	stage := filepath.Join(t.TempDir(), "stage")
	amd := ioWriteImage(t, stage, "", "amd64", []ioLayer{{files: map[string]string{"arch": "amd64"}}})
	arm := ioWriteImage(t, stage, "", "arm64", []ioLayer{{files: map[string]string{"arch": "arm64"}}})
	want["multi"] = ioWriteIndex(t, stage, "multi", []imgspecv1.Descriptor{amd, arm})
	ioCopyCLI(t, "oci-layout:"+stage+":multi", "oci-layout:"+dir+":multi", "--all", "--preserve-digests")
	key := newTestKey(t, "Reader Signer", "")
	mustRunCLI(t, "sign", "--key", key.secretPath, "--identity", signedName, "oci-layout:"+dir+":"+signedName)
	ioVerifyCLI(t, dir)
	return dir, want
}

// TestInteropGoReadersReadOurLayout: go-containerregistry's pkg/v1/layout
// and oras-go's content/oci open a layout our CLI wrote, find every name,
// and read every blob it holds (each hashed here against its digest).
func TestInteropGoReadersReadOurLayout(t *testing.T) {
	dir, want := ioRichLayout(t)
	blobs := ioBlobFiles(t, dir)

	t.Run("go-containerregistry", func(t *testing.T) {
		ii, err := ggcrlayout.ImageIndexFromPath(dir)
		ioMust(t, err, "ggcr layout.ImageIndexFromPath(%s)", dir)
		im, err := ii.IndexManifest()
		ioMust(t, err, "ggcr IndexManifest of %s", dir)
		names := map[string]digest.Digest{}
		seen := map[string]bool{}
		for _, d := range im.Manifests {
			if n := d.Annotations[imgspecv1.AnnotationRefName]; n != "" {
				names[n] = digest.Digest(d.Digest.String())
			}
			ggcrWalk(t, ii, d, seen)
		}
		for n, d := range want {
			if names[n] != d {
				t.Errorf("ggcr sees %q as %q, want %s", n, names[n], d)
			}
		}
		if got := slices.Sorted(maps.Keys(seen)); !slices.Equal(got, blobs) {
			t.Errorf("ggcr read blobs %v, the layout holds %v", got, blobs)
		}
	})

	t.Run("oras-go", func(t *testing.T) {
		ctx := context.Background()
		store, err := oci.NewFromFS(ctx, os.DirFS(dir))
		ioMust(t, err, "oras oci.NewFromFS(%s)", dir)
		var tags []string
		ioMust(t, store.Tags(ctx, "", func(ts []string) error { tags = append(tags, ts...); return nil }), "oras Tags of %s", dir)
		seen := map[string]bool{}
		for _, tag := range tags {
			desc, err := store.Resolve(ctx, tag)
			ioMust(t, err, "oras Resolve(%q) in %s", tag, dir)
			if d, ok := want[tag]; ok && desc.Digest != d {
				t.Errorf("oras resolves %q to %s, want %s", tag, desc.Digest, d)
			}
			orasWalk(t, ctx, store, desc, seen)
		}
		for n := range want {
			if !slices.Contains(tags, n) {
				t.Errorf("oras lists tags %q, missing %q", tags, n)
			}
		}
		if got := slices.Sorted(maps.Keys(seen)); !slices.Equal(got, blobs) {
			t.Errorf("oras read blobs %v, the layout holds %v", got, blobs)
		}
	})
}

// ggcrWalk reads d and everything under it through ggcr, recording each
// blob as "sha256/<hex>" once its bytes hash right.
func ggcrWalk(t *testing.T, ii v1.ImageIndex, d v1.Descriptor, seen map[string]bool) {
	t.Helper()
	mark := func(h v1.Hash, r io.ReadCloser, err error) {
		t.Helper()
		ioMust(t, err, "ggcr opening %s", h)
		defer r.Close()
		dg, err := digest.SHA256.FromReader(r)
		ioMust(t, err, "ggcr reading %s", h)
		if dg.String() != h.String() {
			t.Errorf("ggcr read %s as bytes hashing to %s", h, dg)
		}
		seen[h.Algorithm+"/"+h.Hex] = true
	}
	blob := func(h v1.Hash) {
		r, err := ii.(interface {
			Blob(v1.Hash) (io.ReadCloser, error)
		}).Blob(h)
		mark(h, r, err)
	}
	blob(d.Digest)
	if d.MediaType.IsIndex() {
		child, err := ii.ImageIndex(d.Digest)
		ioMust(t, err, "ggcr ImageIndex(%s)", d.Digest)
		im, err := child.IndexManifest()
		ioMust(t, err, "ggcr IndexManifest(%s)", d.Digest)
		for _, c := range im.Manifests {
			ggcrWalk(t, child, c, seen) // ggcr finds an instance only in its own index
		}
		return
	}
	img, err := ii.Image(d.Digest)
	ioMust(t, err, "ggcr Image(%s)", d.Digest)
	m, err := img.Manifest()
	ioMust(t, err, "ggcr Manifest(%s)", d.Digest)
	blob(m.Config.Digest)
	for _, l := range m.Layers {
		layer, err := img.LayerByDigest(l.Digest)
		ioMust(t, err, "ggcr LayerByDigest(%s)", l.Digest)
		r, err := layer.Compressed()
		mark(l.Digest, r, err)
	}
}

// orasWalk fetches desc and its successors through oras, whose
// content.ReadAll checks size and digest.
func orasWalk(t *testing.T, ctx context.Context, store content.ReadOnlyGraphStorage, desc imgspecv1.Descriptor, seen map[string]bool) {
	t.Helper()
	if seen[desc.Digest.Algorithm().String()+"/"+desc.Digest.Encoded()] {
		return
	}
	_, err := content.FetchAll(ctx, store, desc)
	ioMust(t, err, "oras fetching %s", desc.Digest)
	seen[desc.Digest.Algorithm().String()+"/"+desc.Digest.Encoded()] = true
	succ, err := content.Successors(ctx, store, desc)
	ioMust(t, err, "oras successors of %s", desc.Digest)
	for _, s := range succ {
		orasWalk(t, ctx, store, s, seen)
	}
}

// TestInteropWeReadGoWriters: layouts written by ggcr (an image and an
// index from pkg/v1/random) and by oras-go (an image pushed blob by blob
// and tagged) are read by ocilayout copy with every digest kept.
func TestInteropWeReadGoWriters(t *testing.T) {
	tmp := t.TempDir()

	ggcrDir := filepath.Join(tmp, "ggcr")
	p, err := ggcrlayout.Write(ggcrDir, empty.Index)
	ioMust(t, err, "ggcr layout.Write(%s)", ggcrDir)
	// static layers are uncompressed (their diffID is their digest).
	ociImg := func(arch string) v1.Image {
		blob, _, diffID := ioLayerBlob(t, ioLayer{files: map[string]string{"from/ggcr": arch}, comp: "none"})
		h, err := v1.NewHash(diffID.String())
		ioMust(t, err, "diffID")
		img, err := mutate.ConfigFile(mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON),
			&v1.ConfigFile{Architecture: arch, OS: "linux", RootFS: v1.RootFS{Type: "layers"}})
		ioMust(t, err, "ggcr ConfigFile")
		img, err = mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(blob, types.OCIUncompressedLayer), MediaType: types.OCIUncompressedLayer})
		ioMust(t, err, "ggcr Append")
		if cf, err := img.ConfigFile(); err != nil || len(cf.RootFS.DiffIDs) != 1 || cf.RootFS.DiffIDs[0] != h {
			t.Fatalf("ggcr image config %+v (%v): want diffID %s", cf, err, h)
		}
		return img
	}
	img := ociImg("amd64")
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: ociImg("amd64"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: ociImg("arm64"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}})
	// random.Image is Docker schema2, which an oci-layout stores only as
	// OCI: copy converts it (c/image rewrites the config too), keeping
	// the layers.
	docker, err := random.Image(2048, 2)
	ioMust(t, err, "ggcr random.Image")
	ann := func(n string) ggcrlayout.Option {
		return ggcrlayout.WithAnnotations(map[string]string{imgspecv1.AnnotationRefName: n})
	}
	ioMust(t, p.AppendImage(img, ann("img")), "ggcr AppendImage")
	ioMust(t, p.AppendIndex(idx, ann("idx")), "ggcr AppendIndex")
	ioMust(t, p.AppendImage(docker, ann("docker")), "ggcr AppendImage (schema2)")
	imgDigest, _ := img.Digest()
	idxDigest, _ := idx.Digest()
	dockerCfg, err := docker.ConfigFile()
	ioMust(t, err, "ggcr ConfigFile")

	orasDir := filepath.Join(tmp, "oras")
	orasDigest := orasWriteImage(t, orasDir)

	for _, tc := range []struct {
		src         string
		want        string // manifest digest kept; "" when converted
		wantDiffIDs string // the layers' contents, when converted
	}{
		{"oci-layout:" + ggcrDir + ":img", imgDigest.String(), ""},
		{"oci-layout:" + ggcrDir + ":idx", idxDigest.String(), ""},
		{"oci-layout:" + ggcrDir + ":docker", "", fmt.Sprint(dockerCfg.RootFS.DiffIDs)},
		{"oci-layout:" + orasDir + ":v1", orasDigest.String(), ""},
	} {
		ours := filepath.Join(t.TempDir(), "ours")
		flags := []string{"--all"}
		if tc.want != "" {
			flags = append(flags, "--preserve-digests")
		}
		ioCopyCLI(t, tc.src, "oci-layout:"+ours+":x", flags...)
		ioVerifyCLI(t, ours)
		if got := ioTag(t, ours, "x"); tc.want != "" && got.String() != tc.want {
			t.Errorf("ocilayout copy %s gave %s, want %s", tc.src, got, tc.want)
		}
		if tc.wantDiffIDs != "" {
			_, m := ioLayoutManifest(t, ours, "x")
			var cfg imgspecv1.Image
			ioMust(t, json.Unmarshal(ioReadFile(t, filepath.Join(ours, "blobs", "sha256", m.Config.Digest.Encoded())), &cfg), "parsing the converted config")
			if got := fmt.Sprint(cfg.RootFS.DiffIDs); got != tc.wantDiffIDs {
				t.Errorf("ocilayout copy %s: diffIDs %s, want %s", tc.src, got, tc.wantDiffIDs)
			}
		}
	}
}

// orasWriteImage pushes an image into a new oras-go layout at dir, tagged
// v1, and returns its manifest digest.
func orasWriteImage(t *testing.T, dir string) digest.Digest {
	t.Helper()
	ctx := context.Background()
	store, err := oci.New(dir)
	ioMust(t, err, "oras oci.New(%s)", dir)
	stage := filepath.Join(t.TempDir(), "stage")
	ioWriteImage(t, stage, "app", "amd64", []ioLayer{{files: map[string]string{"from/oras": "pushed by oras-go"}}})
	mdesc, m := ioLayoutManifest(t, stage, "app")
	mdesc.Annotations, mdesc.Platform = nil, nil
	for _, d := range append([]imgspecv1.Descriptor{m.Config}, append(m.Layers, mdesc)...) {
		f, err := os.Open(filepath.Join(stage, "blobs", "sha256", d.Digest.Encoded()))
		ioMust(t, err, "opening staged blob %s", d.Digest)
		err = store.Push(ctx, d, f)
		f.Close()
		ioMust(t, err, "oras Push(%s)", d.Digest)
	}
	ioMust(t, store.Tag(ctx, mdesc, "v1"), "oras Tag")
	return mdesc.Digest
}
