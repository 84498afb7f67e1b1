package layout

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// BenchmarkVerify measures Verify's throughput on a layout of
// OCILAYOUT_BENCH_MIB MiB (default 64) of layer data, and compares it with
// one core hashing the same bytes with sha256 in a plain loop: the ratio
// is what hashing on runtime.NumCPU() workers buys. Both read from the
// page cache (the layout was just written), so this measures CPU, not disk.
//
//	OCILAYOUT_BENCH_MIB=1024 go test -tags "$TAGS" -run '^$' -bench BenchmarkVerify -benchtime 3x ./layout
func BenchmarkVerify(b *testing.B) {
	mib := 64
	if s := os.Getenv("OCILAYOUT_BENCH_MIB"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("invalid OCILAYOUT_BENCH_MIB %q: want a positive number of MiB", s)
		}
		mib = n
	}
	ctx := context.Background()
	dir := filepath.Join(b.TempDir(), "layout")
	l, err := Create(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	// About 16 layers (at most 64 MiB each) in four images, so that there
	// is work for every worker and the walk has some shape.
	layerMiB := max(1, min(64, mib/16))
	rng := rand.NewChaCha8([32]byte{1})
	var images [4][]imgspecv1.Descriptor
	for i, left := 0, mib; left > 0; i++ {
		n := min(left, layerMiB)
		left -= n
		d, size, err := l.PutBlob(ctx, io.LimitReader(rng, int64(n)<<20), "", int64(n)<<20)
		if err != nil {
			b.Fatal(err)
		}
		images[i%4] = append(images[i%4], imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageLayerGzip, Digest: d, Size: size})
	}
	var files []string
	for i, layers := range images {
		if len(layers) == 0 {
			continue
		}
		img := mtManifestOf(b, l, strconv.Itoa(i), layers)
		if err := l.addManifest(ctx, img, "img"+strconv.Itoa(i)); err != nil {
			b.Fatal(err)
		}
		for _, d := range layers {
			files = append(files, filepath.Join(dir, "blobs", "sha256", d.Digest.Encoded()))
		}
	}

	// Baseline: one core, one sha256, the same layer bytes.
	buf := make([]byte, 1<<20)
	start := time.Now()
	var total int64
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			b.Fatal(err)
		}
		h := sha256.New()
		n, err := io.CopyBuffer(h, fh, buf)
		fh.Close()
		if err != nil {
			b.Fatal(err)
		}
		total += n
	}
	single := float64(total) / (1 << 20) / time.Since(start).Seconds()

	b.SetBytes(total)
	b.ResetTimer()
	for b.Loop() {
		r, err := l.Verify(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if !(len(r.Problems) == 0) {
			b.Fatalf("benchmark layout is unsound: %v", r.Problems)
		}
	}
	b.StopTimer()
	perOp := b.Elapsed().Seconds() / float64(b.N)
	verify := float64(total) / (1 << 20) / perOp
	b.ReportMetric(verify, "verify-MiB/s")
	b.ReportMetric(single, "sha256-1core-MiB/s")
	b.ReportMetric(verify/single, "ratio")
	b.ReportMetric(float64(runtime.NumCPU()), "cpus")
}

// mtManifestOf stores a manifest over already stored layers.
func mtManifestOf(b *testing.B, l *Layout, config string, layers []imgspecv1.Descriptor) imgspecv1.Descriptor {
	b.Helper()
	ctx := context.Background()
	cfg := []byte(`{"bench":"` + config + `"}`)
	cd, err := l.putBytes(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	m := imgspecv1.Manifest{MediaType: imgspecv1.MediaTypeImageManifest, Config: imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageConfig, Digest: cd, Size: int64(len(cfg))}, Layers: layers}
	m.SchemaVersion = 2
	data, err := json.Marshal(m)
	if err != nil {
		b.Fatal(err)
	}
	md, err := l.putBytes(ctx, data)
	if err != nil {
		b.Fatal(err)
	}
	return imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest, Digest: md, Size: int64(len(data))}
}
