package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/pkg/compression"
	"go.podman.io/image/v5/types"
)

// TestBoundCompressionMemory: a copy is bounded exactly when copy.Image
// will compress for its destination, and the layers copied at once follow
// the encoders' size: 2 cores give gzip 3, zstd 2, zstd:chunked 1; many
// cores give pgzip (which compresses one layer on every core) 1; a
// decompressing destination or a layout without a compression flag keeps
// copy.Image's default.
func TestBoundCompressionMemory(t *testing.T) {
	algo := func(name string) *compression.Algorithm {
		a, err := compression.AlgorithmByName(name)
		if err != nil {
			t.Fatal(err)
		}
		return &a
	}
	lvl := func(n int) *int { return &n }
	for _, tc := range []struct {
		name      string
		transport string
		sys       types.SystemContext
		forced    bool
		wantAlgo  string // "" when nothing is compressed
		procs2    uint   // layers at once on 2 cores
		procs16   uint   // and on 16
	}{
		{"layout, no flag: layers kept", "oci-layout", types.SystemContext{}, false, "", 0, 0},
		{"dir:, no flag", "dir", types.SystemContext{}, false, "", 0, 0},
		{"docker-archive: decompresses", "docker-archive", types.SystemContext{CompressionFormat: algo("zstd")}, false, "", 0, 0},
		{"containers-storage: decompresses", "containers-storage", types.SystemContext{}, false, "", 0, 0},
		{"registry gzips uncompressed layers", "docker", types.SystemContext{}, false, "gzip", 3, 1},
		{"oci: gzips", "oci", types.SystemContext{}, false, "gzip", 3, 1},
		{"layout --dest-compress", "oci-layout", types.SystemContext{DirForceCompress: true}, false, "gzip", 3, 1},
		{"dir: --dest-compress", "dir", types.SystemContext{DirForceCompress: true}, false, "gzip", 3, 1},
		{"layout zstd", "oci-layout", types.SystemContext{CompressionFormat: algo("zstd")}, false, "zstd", 2, 2},
		{"layout zstd level 19", "oci-layout", types.SystemContext{CompressionFormat: algo("zstd"), CompressionLevel: lvl(19)}, false, "zstd", 1, 1},
		{"layout zstd recompressing gzip", "oci-layout", types.SystemContext{CompressionFormat: algo("zstd")}, true, "zstd", 1, 1},
		{"registry zstd", "docker", types.SystemContext{CompressionFormat: algo("zstd")}, false, "zstd", 2, 2},
		{"layout zstd:chunked", "oci-layout", types.SystemContext{CompressionFormat: algo("zstd:chunked")}, false, "zstd:chunked", 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gotAlgo, level, ok := copyCompression(tc.transport, &tc.sys)
			if ok != (tc.wantAlgo != "") || gotAlgo != tc.wantAlgo {
				t.Fatalf("copyCompression = %q, %v; want %q", gotAlgo, ok, tc.wantAlgo)
			}
			if !ok {
				if layers, limit := boundCompressionMemory(tc.transport, &tc.sys, tc.forced); layers != 0 || limit != 0 {
					t.Errorf("boundCompressionMemory = %d, %d for a copy that does not compress", layers, limit)
				}
				return
			}
			if gotAlgo == "zstd:chunked" && level == nil {
				level = lvl(chunkedDefaultLevel)
			}
			for procs, want := range map[int]uint{2: tc.procs2, 16: tc.procs16} {
				if got := parallelLayers(gotAlgo, level, procs, tc.forced); got != want {
					t.Errorf("parallelLayers(%s, %d procs) = %d, want %d", gotAlgo, procs, got, want)
				}
				if got := parallelLayers(gotAlgo, level, procs, tc.forced); uint(encoderMiB(gotAlgo, level, procs, tc.forced))*got > encoderBudgetMiB && got > 1 {
					t.Errorf("%d layers of %d MiB exceed the budget of %d MiB", got, encoderMiB(gotAlgo, level, procs, tc.forced), encoderBudgetMiB)
				}
			}
			sys := tc.sys
			if _, limit := boundCompressionMemory(tc.transport, &sys, tc.forced); limit != compressMemoryLimit {
				t.Errorf("memory limit %d, want %d", limit, compressMemoryLimit)
			}
		})
	}
}

// TestChunkedDefaultLevel: zstd:chunked without a level gets
// chunkedDefaultLevel; a level the user set is kept, and plain zstd gets
// none (containers/image's default).
func TestChunkedDefaultLevel(t *testing.T) {
	chunked, _ := compression.AlgorithmByName("zstd:chunked")
	plain, _ := compression.AlgorithmByName("zstd")
	eleven := 11
	for _, tc := range []struct {
		name string
		sys  types.SystemContext
		want *int
	}{
		{"chunked, no level", types.SystemContext{CompressionFormat: &chunked}, &[]int{chunkedDefaultLevel}[0]},
		{"chunked, level 11", types.SystemContext{CompressionFormat: &chunked, CompressionLevel: &eleven}, &eleven},
		{"zstd, no level", types.SystemContext{CompressionFormat: &plain}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			boundCompressionMemory("oci-layout", &tc.sys, false)
			if got := tc.sys.CompressionLevel; (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
				t.Errorf("CompressionLevel = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestSetMemoryLimit: the limit is lowered, never raised, and a
// GOMEMLIMIT the user set wins.
func TestSetMemoryLimit(t *testing.T) {
	orig := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(orig) })

	debug.SetMemoryLimit(1 << 40)
	t.Setenv("GOMEMLIMIT", "")
	setMemoryLimit(56 << 20)
	if got := debug.SetMemoryLimit(-1); got != 56<<20 {
		t.Errorf("limit %d, want %d", got, 56<<20)
	}
	setMemoryLimit(1 << 30) // higher: kept at 56 MiB
	if got := debug.SetMemoryLimit(-1); got != 56<<20 {
		t.Errorf("limit raised to %d", got)
	}
	debug.SetMemoryLimit(1 << 40)
	t.Setenv("GOMEMLIMIT", "1GiB")
	setMemoryLimit(56 << 20)
	if got := debug.SetMemoryLimit(-1); got != 1<<40 {
		t.Errorf("limit %d although GOMEMLIMIT is set", got)
	}
}

// TestCopyZstdChunked: a copy to zstd:chunked (one layer at a time, level
// chunkedDefaultLevel) stores a zstd layer with its table of contents
// annotated, which decompresses to the source's tar.
func TestCopyZstdChunked(t *testing.T) {
	img := newUncompressedImage(t, "chunked layer")
	src := filepath.Join(t.TempDir(), "src")
	writeLayout(t, src, layoutEntry{name: "app", img: img})
	destDir := filepath.Join(t.TempDir(), "l")
	dest := "oci-layout:" + destDir + ":app"
	mustRun(t, "copy", "-q", "--insecure-policy", "--dest-compress-format", "zstd:chunked", "oci-layout:"+src+":app", dest)

	var m imgspecv1.Manifest
	if raw := mustRun(t, "inspect", "--raw", dest).stdout; json.Unmarshal(raw, &m) != nil || len(m.Layers) != 1 {
		t.Fatalf("stored manifest: %s", raw)
	}
	l := m.Layers[0]
	if l.MediaType != imgspecv1.MediaTypeImageLayerZstd {
		t.Errorf("layer %s, want %s", l.MediaType, imgspecv1.MediaTypeImageLayerZstd)
	}
	if l.Annotations["io.github.containers.zstd-chunked.manifest-checksum"] == "" {
		t.Errorf("layer annotations %v: no zstd:chunked table of contents", l.Annotations)
	}
	blob, err := os.ReadFile(filepath.Join(destDir, "blobs", "sha256", l.Digest.Encoded()))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zstd.NewReader(bytes.NewReader(blob))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("decompressing the stored layer: %v", err)
	}
	if digest.FromBytes(plain) != img.diffID {
		t.Errorf("stored layer decompresses to %d bytes, not the source's tar (%d bytes)", len(plain), len(img.layer))
	}
}
