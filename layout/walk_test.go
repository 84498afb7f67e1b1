package layout

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// mtImage is an image written into a test layout: its manifest descriptor
// and every blob digest it consists of.
type mtImage struct {
	desc  imgspecv1.Descriptor
	blobs []digest.Digest // manifest, config, layers
}

// mtPut stores data as a blob and returns its descriptor.
func mtPut(t *testing.T, l *Layout, mediaType string, data []byte) imgspecv1.Descriptor {
	t.Helper()
	d, err := l.putBytes(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	return imgspecv1.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(data))}
}

// mtManifest stores an image manifest of the given type over config and
// layer contents (layers are stored as given, so two images can share one).
func mtManifest(t *testing.T, l *Layout, mediaType, config string, layers ...string) mtImage {
	t.Helper()
	cfgType, layerType := imgspecv1.MediaTypeImageConfig, imgspecv1.MediaTypeImageLayerGzip
	if mediaType == mediaTypeDockerManifest {
		cfgType, layerType = "application/vnd.docker.container.image.v1+json", "application/vnd.docker.image.rootfs.diff.tar.gzip"
	}
	m := imgspecv1.Manifest{Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: mediaType, Config: mtPut(t, l, cfgType, []byte(config))}
	for _, c := range layers {
		m.Layers = append(m.Layers, mtPut(t, l, layerType, []byte(c)))
	}
	data, _ := json.Marshal(m)
	img := mtImage{desc: mtPut(t, l, mediaType, data)}
	img.blobs = append(img.blobs, img.desc.Digest, m.Config.Digest)
	for _, d := range m.Layers {
		img.blobs = append(img.blobs, d.Digest)
	}
	return img
}

// mtIndex stores an index over images.
func mtIndex(t *testing.T, l *Layout, images ...mtImage) mtImage {
	t.Helper()
	idx := imgspecv1.Index{Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageIndex}
	var blobs []digest.Digest
	for _, i := range images {
		idx.Manifests = append(idx.Manifests, i.desc)
		blobs = append(blobs, i.blobs...)
	}
	data, _ := json.Marshal(idx)
	img := mtImage{desc: mtPut(t, l, imgspecv1.MediaTypeImageIndex, data)}
	img.blobs = append([]digest.Digest{img.desc.Digest}, blobs...)
	return img
}

// mtReferrer stores an artifact whose subject is subject and lists it in
// index.json with AnnotationSubject, as signatures are stored.
func mtReferrer(t *testing.T, l *Layout, subject imgspecv1.Descriptor, payload string) mtImage {
	t.Helper()
	img := mtManifest(t, l, imgspecv1.MediaTypeImageManifest, "{}", payload)
	d := img.desc
	d.Annotations = map[string]string{AnnotationSubject: subject.Digest.String()}
	if err := l.addManifest(context.Background(), d, ""); err != nil {
		t.Fatal(err)
	}
	return img
}

func mtTag(t *testing.T, l *Layout, img mtImage, name string) {
	t.Helper()
	if err := l.addManifest(context.Background(), img.desc, name); err != nil {
		t.Fatal(err)
	}
}

func mtCreate(t *testing.T, opts ...Option) (*Layout, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	l, err := Create(dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, dir
}

// mtBlobsOnDisk lists the digests of the blob files present.
func mtBlobsOnDisk(t *testing.T, l *Layout) map[digest.Digest]bool {
	t.Helper()
	files, err := l.listBlobs()
	if err != nil {
		t.Fatal(err)
	}
	out := map[digest.Digest]bool{}
	for _, f := range files {
		out[f.Digest] = true
	}
	return out
}

func mtAssertPresent(t *testing.T, l *Layout, present bool, digests ...digest.Digest) {
	t.Helper()
	on := mtBlobsOnDisk(t, l)
	for _, d := range digests {
		if on[d] != present {
			t.Errorf("blob %s present=%v, want %v", d, on[d], present)
		}
	}
}

// mtAssertSound fails the test with every problem Verify reports.
func mtAssertSound(t *testing.T, l *Layout) {
	t.Helper()
	r, err := l.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range r.Problems {
		t.Errorf("verify: %s", p)
	}
}

func mtNames(t *testing.T, l *Layout) []string {
	t.Helper()
	entries, err := l.list(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name)
	}
	sort.Strings(out)
	return out
}

func TestWalkReachesEverything(t *testing.T) {
	l, _ := mtCreate(t)
	amd := mtManifest(t, l, imgspecv1.MediaTypeImageManifest, `{"a":1}`, "layer-a", "shared")
	arm := mtManifest(t, l, mediaTypeDockerManifest, `{"a":2}`, "layer-b", "shared")
	multi := mtIndex(t, l, amd, arm)
	mtTag(t, l, multi, "multi")
	sig := mtReferrer(t, l, arm.desc, "signature of the arm manifest")
	garbage := mtPut(t, l, "application/octet-stream", []byte("garbage"))

	idx, err := l.Index(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := l.walk(context.Background(), idx.Manifests)
	if len(r.problems) != 0 {
		t.Fatalf("problems: %v", r.problems)
	}
	for _, d := range append(multi.blobs, sig.blobs...) {
		if !r.has(d) {
			t.Errorf("%s not reached", d)
		}
	}
	if r.has(garbage.Digest) {
		t.Errorf("garbage blob reached")
	}
	if info := r.refs[mtPut(t, l, "", []byte("shared")).Digest]; info == nil || len(info.sizes) != 1 || !info.local {
		t.Errorf("shared layer: %+v, want one size, local", info)
	}
	for _, d := range []digest.Digest{multi.desc.Digest, amd.desc.Digest, arm.desc.Digest} {
		if !r.verified[d] {
			t.Errorf("%s was not read and verified by the walk", d)
		}
	}
}

func TestOrphanReferrers(t *testing.T) {
	l, _ := mtCreate(t)
	a := mtManifest(t, l, imgspecv1.MediaTypeImageManifest, "{}", "a")
	inner := mtManifest(t, l, imgspecv1.MediaTypeImageManifest, `{"inner":1}`, "i")
	idxImg := mtIndex(t, l, inner)
	gone := mtManifest(t, l, imgspecv1.MediaTypeImageManifest, `{"gone":1}`, "g")
	sigA := imgspecv1.Descriptor{Digest: digest.FromString("sigA"), Annotations: map[string]string{AnnotationSubject: a.desc.Digest.String()}}
	sigInner := imgspecv1.Descriptor{Digest: digest.FromString("sigI"), Annotations: map[string]string{AnnotationSubject: inner.desc.Digest.String()}}
	sigOfSig := imgspecv1.Descriptor{Digest: digest.FromString("sigS"), Annotations: map[string]string{AnnotationSubject: sigA.Digest.String()}}
	sigGone := imgspecv1.Descriptor{Digest: digest.FromString("sigG"), Annotations: map[string]string{AnnotationSubject: gone.desc.Digest.String()}}
	sigOfGone := imgspecv1.Descriptor{Digest: digest.FromString("sigGG"), Annotations: map[string]string{AnnotationSubject: sigGone.Digest.String()}}
	entries := []imgspecv1.Descriptor{sigOfSig, a.desc, sigA, idxImg.desc, sigInner, sigGone, sigOfGone}
	orphans, err := l.orphanReferrers(context.Background(), entries)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]bool{5: true, 6: true}
	if len(orphans) != len(want) || !orphans[5] || !orphans[6] {
		t.Errorf("orphans = %v, want %v", orphans, want)
	}
}

// mtCorrupt rewrites a blob's file (blobs are 0444).
func mtCorrupt(t *testing.T, dir string, d digest.Digest, data []byte) {
	t.Helper()
	p := filepath.Join(dir, "blobs", d.Algorithm().String(), d.Encoded())
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
