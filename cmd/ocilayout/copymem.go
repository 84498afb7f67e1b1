package main

import (
	"os"
	"runtime"
	"runtime/debug"

	"go.podman.io/image/v5/types"
)

// Memory of a copy that compresses (issue 15: peak RSS under 100 MiB on
// every path). copy.Image compresses in its own encoders, which no
// transport can configure, with up to 6 layers at once, and each encoder
// holds megabytes (heap profiles of 256 MiB in 8 layers): zstd a 16 MiB
// history (twice its 8 MiB window) and 2 MiB of match tables, 34 MiB of
// tables at level 10 and above; zstd:chunked two such encoders (data and
// tar-split); pgzip (gzip) GOMAXPROCS blocks in flight, each with its 1 MiB
// input, output and tail buffers and a flate state. Six of them are 80 MiB
// (gzip, 2 cores) to 400 MiB (zstd:chunked) of live heap, and the Go
// runtime lets the heap grow to twice the live size before it collects.
// So a copy that compresses runs fewer layers at once (encoderBudgetMiB
// between them) under a memory limit; one that does not is left alone.
const (
	// encoderBudgetMiB is the estimated encoder memory that the layers
	// copied at once may hold between them.
	encoderBudgetMiB = 40
	// compressMemoryLimit is the Go runtime's soft memory limit
	// (debug.SetMemoryLimit) while a copy compresses: above the live heap
	// of encoderBudgetMiB of encoders and the rest of a copy (about 8 MiB),
	// so the collector runs every 8 MiB or more allocated and costs little
	// (user CPU of 256 MiB in 8 layers unchanged within noise; at 48 MiB
	// zstd took 30 % more), yet the heap no longer grows to twice the live
	// size. With the binary's text mapped (10 MiB in 4 KiB pages, 27 MiB
	// when the kernel maps it in 2 MiB folios) the RSS stays at 76–85 MiB
	// (a 64 MiB limit: 88–96).
	compressMemoryLimit = 56 << 20
	// maxParallelLayers is copy.Image's own default.
	maxParallelLayers = 6
)

// copyCompression says what copy.Image will compress layers with for a
// destination of transport destTransport given its SystemContext: docker,
// oci and other transports compress uncompressed layers (gzip unless
// CompressionFormat); dir and oci-layout only when asked (DirForceCompress
// or CompressionFormat); docker-archive, docker-daemon and
// containers-storage decompress instead. ok is false when nothing is
// compressed.
func copyCompression(destTransport string, sys *types.SystemContext) (algo string, level *int, ok bool) {
	switch destTransport {
	case "docker-archive", "docker-daemon", "containers-storage":
		return "", nil, false
	case "dir", "oci-layout":
		if sys.CompressionFormat == nil && !sys.DirForceCompress {
			return "", nil, false
		}
	}
	algo = "gzip"
	if sys.CompressionFormat != nil {
		algo = sys.CompressionFormat.Name()
	}
	return algo, sys.CompressionLevel, true
}

// chunkedDefaultLevel is the level ocilayout gives zstd:chunked when
// --dest-compress-level is not set. containers/storage's default, 10, is
// klauspost's "best" encoder: 34 MiB of match tables per encoder, two per
// layer, so one layer alone takes the copy past 100 MiB (110–150 MiB
// measured) and 8 times the CPU of zstd; 9 is the highest level of the
// "better" encoder (4 MiB of tables). The price: 8 % more bytes (200 MB
// of the Go toolchain's tar: 0.233 of its size at 9, 0.215 at 10);
// --dest-compress-level 10 still asks for containers/storage's default.
const chunkedDefaultLevel = 9

// encoderMiB estimates the memory one layer's compression holds (see
// the comment at the top), for procs = GOMAXPROCS; recompress adds the
// decompressor of a compressed source (pgzip reads ahead 4 MiB).
func encoderMiB(algo string, level *int, procs int, recompress bool) int {
	var n int
	switch algo {
	case "gzip":
		n = 3 + 5*procs
	case "zstd", "zstd:chunked":
		n = 18
		if level != nil && *level >= 10 {
			n = 50
		}
		if algo == "zstd:chunked" {
			n *= 2
		}
	default: // bzip2, xz: not offered by the CLI; assume the worst
		n = encoderBudgetMiB
	}
	if recompress {
		n += 5
	}
	return n
}

// parallelLayers is how many layers copy.Image may copy at once while
// compressing with algo: as many as fit in encoderBudgetMiB, between 1
// and copy.Image's default of 6. On 2 cores: gzip 3, zstd 2, zstd:chunked
// 1. pgzip compresses one layer on every core already, and on 2 cores
// these keep both busy.
func parallelLayers(algo string, level *int, procs int, recompress bool) uint {
	return uint(min(max(encoderBudgetMiB/encoderMiB(algo, level, procs, recompress), 1), maxParallelLayers))
}

// boundCompressionMemory applies the above to a copy to a destination of
// transport destTransport: it gives zstd:chunked its default level when
// none is set, and returns the number of layers to copy at once and the
// memory limit to set, or 0, 0 when the copy does not compress. forced is
// --dest-force-compress-format (layers already compressed are
// decompressed first).
func boundCompressionMemory(destTransport string, sys *types.SystemContext, forced bool) (layers uint, limit int64) {
	algo, level, ok := copyCompression(destTransport, sys)
	if !ok {
		return 0, 0
	}
	if algo == "zstd:chunked" && level == nil {
		l := chunkedDefaultLevel
		sys.CompressionLevel, level = &l, &l
	}
	return parallelLayers(algo, level, runtime.GOMAXPROCS(0), forced), compressMemoryLimit
}

// setMemoryLimit lowers the runtime's memory limit to limit unless the
// user set GOMEMLIMIT (which then wins) or the limit is already lower.
func setMemoryLimit(limit int64) {
	if limit <= 0 || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	if cur := debug.SetMemoryLimit(-1); limit < cur {
		debug.SetMemoryLimit(limit)
	}
}
