package main

import (
	"archive/tar"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/opencontainers/go-digest"
)

// tarFileSize is the size of each file in a generated tar layer: big
// enough that the tar headers are noise, small enough that a layer holds
// files of both kinds.
const tarFileSize = 4 << 20

// tarLayer writes size bytes of file content as a tar archive (a real
// one: zstd:chunked parses it) to out, uncompressed, and returns its
// digest (the diff ID). A fraction compressible of the files hold text
// that compresses about tenfold (numbered log lines), the others
// pseudo-random bytes that do not compress: what compression meets in a
// real image, where binaries and text sit side by side.
func tarLayer(out io.Writer, seed uint64, size int64, compressible float64) (digest.Digest, error) {
	h := sha256.New()
	tw := tar.NewWriter(io.MultiWriter(out, h))
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16)})
	buf := make([]byte, 1<<20)
	var textBytes, written int64
	for i := 0; size > 0; i++ {
		n := min(int64(tarFileSize), size)
		// Text while the text written so far is below its share.
		text := float64(textBytes+n) <= compressible*float64(written+n)+0.5
		if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("f%05d", i), Mode: 0o644, Size: n, Typeflag: tar.TypeReg}); err != nil {
			return "", err
		}
		for left, line := n, 0; left > 0; {
			c := min(int64(len(buf)), left)
			if text {
				line = fillText(buf[:c], seed, i, line)
			} else {
				_, _ = rng.Read(buf[:c])
			}
			if _, err := tw.Write(buf[:c]); err != nil {
				return "", err
			}
			left -= c
		}
		if text {
			textBytes += n
		}
		written += n
		size -= n
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	return digest.NewDigest(digest.SHA256, h), nil
}

// fillText fills b with numbered log lines from line on and returns the
// next line number.
func fillText(b []byte, seed uint64, file, line int) int {
	var l []byte
	for off := 0; off < len(b); line++ {
		l = fmt.Appendf(l[:0], "%d layer %d file %d line %d: request served in %d us, status ok\n", seed, seed%8, file, line, (line*7919)%100000)
		off += copy(b[off:], l)
	}
	return line
}
