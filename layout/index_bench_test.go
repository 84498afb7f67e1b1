package layout

import (
	"context"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

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
func benchTagged(b testing.TB) (*Layout, imgspecv1.Descriptor) {
	return benchTaggedWith(b, nil)
}

// benchTaggedWith is benchTagged with platform in every entry (nil: none),
// as ocilayout's destination records it.
func benchTaggedWith(b testing.TB, platform *imgspecv1.Platform) (*Layout, imgspecv1.Descriptor) {
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
			e.Platform = platform
			idx.Manifests = append(idx.Manifests, e)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return l, desc
}

func gtManifestTB(b testing.TB, l *Layout) imgspecv1.Descriptor {
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

// reportCPU reports the process's CPU time (user and system) per op from
// now to the call of the function it returns: on a shared machine the
// wall time of a tag add varies with the others' load and the disk, its
// CPU much less.
func reportCPU(b *testing.B) func() {
	var start syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &start); err != nil {
		b.Fatal(err)
	}
	return func() {
		var end syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &end); err != nil {
			b.Fatal(err)
		}
		cpu := time.Duration(end.Utime.Nano() - start.Utime.Nano() + end.Stime.Nano() - start.Stime.Nano())
		b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
	}
}

// atScale is the entry count of issue 15's index benchmarks.
const atScale = 100000

// BenchmarkIndexAtScale: the index paths of issue 15 on an index.json of
// 100,000 tags (aims: a tag added in 50 ms, a name resolved in 20 ms).
// tag-add and lookup decode no entry they do not touch (entryList,
// Lookup); full-decode is what Index (list, gc, verify) still costs, and
// index-entries what serve's reload asks of the engine (IndexEntries).
// batch-N adds N new tags in one transaction, as sync's batches do: the
// time per tag must not grow with N (the transaction stays linear).
func BenchmarkIndexAtScale(b *testing.B) {
	b.Setenv("BENCH_TAGS", strconv.Itoa(atScale))
	l, desc := benchTagged(b)
	ctx := context.Background()
	b.Run("tag-add", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			if err := l.addManifest(ctx, desc, "new"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("lookup", func(b *testing.B) {
		sel, _ := byName("t" + strconv.Itoa(atScale/2))
		defer reportCPU(b)()
		for b.Loop() {
			if _, err := l.Lookup(ctx, sel); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("lookup-platforms", func(b *testing.B) {
		// The entries as ocilayout copies write them: each with the
		// image's platform.
		l, _ := benchTaggedWith(b, &imgspecv1.Platform{Architecture: "amd64", OS: "linux"})
		sel, _ := byName("t" + strconv.Itoa(atScale/2))
		defer reportCPU(b)()
		for b.Loop() {
			if _, err := l.Lookup(ctx, sel); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("full-decode", func(b *testing.B) {
		for b.Loop() {
			if _, err := l.Index(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("index-entries", func(b *testing.B) {
		for b.Loop() {
			if err := l.IndexEntries(ctx, func(imgspecv1.Descriptor, string, string) {}); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, n := range []int{10, 100, 1000} {
		b.Run("batch-"+strconv.Itoa(n), func(b *testing.B) {
			round := 0
			for b.Loop() {
				round++
				err := l.Update(ctx, func(tx *IndexTx) error {
					for i := range n {
						if err := tx.Tag(desc, "b"+strconv.Itoa(i)); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(round*n), "ns/tag")
		})
	}
}
