package layout

import (
	"context"
	"os"
	"strconv"
	"testing"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// benchTags is the entry count of the tag benchmarks: BENCH_TAGS, or the
// 10,000 of issue 6 (inspektor-gadget#5754 met seconds per open there).
func benchTags() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_TAGS")); err == nil && n > 0 {
		return n
	}
	return 10000
}

// benchTagged returns a layout whose index.json has benchTags() entries
// tagged t0.. over one manifest.
func benchTagged(b *testing.B) (*Layout, imgspecv1.Descriptor) {
	b.Helper()
	dir := b.TempDir()
	l, err := Create(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	desc := gtManifestTB(b, l)
	err = l.updateRaw(context.Background(), func(idx *imgspecv1.Index) error {
		for i := range benchTags() {
			e := desc
			e.Annotations = map[string]string{imgspecv1.AnnotationRefName: "t" + strconv.Itoa(i)}
			idx.Manifests = append(idx.Manifests, e)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return l, desc
}

func gtManifestTB(b *testing.B, l *Layout) imgspecv1.Descriptor {
	d, err := l.putBytes(context.Background(), []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`))
	if err != nil {
		b.Fatal(err)
	}
	return imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest, Digest: d, Size: 200}
}

// BenchmarkTagsAdd: one tag added to (moved within) a large index: lock,
// re-read, apply, atomic durable write. Target of issue 6: < 50 ms.
func BenchmarkTagsAdd(b *testing.B) {
	l, desc := benchTagged(b)
	for b.Loop() {
		if err := l.addManifest(context.Background(), desc, "new"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTagsList: List of every entry of a large index.
func BenchmarkTagsList(b *testing.B) {
	l, _ := benchTagged(b)
	for b.Loop() {
		if _, err := l.list(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTagsResolve: read index.json and resolve a name in it, what
// every source open does.
func BenchmarkTagsResolve(b *testing.B) {
	l, _ := benchTagged(b)
	sel, _ := byName("t" + strconv.Itoa(benchTags()/2))
	for b.Loop() {
		idx, err := l.Index(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := l.Resolve(context.Background(), idx, sel); err != nil {
			b.Fatal(err)
		}
	}
}
