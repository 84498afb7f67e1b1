package layout

import (
	"bytes"
	"context"
	"crypto/rand"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
)

// BenchmarkBlobInto compares the ways a 64 MiB blob gets into a layout:
// streamed and hashed (PutBlob, what every transport does), linked and
// verified, linked trusted. Each iteration uses a fresh destination.
func BenchmarkBlobInto(b *testing.B) {
	ctx := context.Background()
	data := make([]byte, 64<<20)
	_, _ = rand.Read(data)
	d := digest.FromBytes(data)
	srcDir := filepath.Join(b.TempDir(), "src")
	src, err := Create(srcDir)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	if _, err := src.putBytes(ctx, data); err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"put", "link-verified", "link-trusted"} {
		b.Run(mode, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				b.StopTimer()
				dst, err := Create(filepath.Join(b.TempDir(), "dst"))
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				switch mode {
				case "put":
					_, _, err = dst.PutBlob(ctx, bytes.NewReader(data), d, int64(len(data)))
				default:
					var m string
					m, err = dst.LinkBlob(ctx, filepath.Join(srcDir, "blobs"), d, int64(len(data)), linkOpts(mode == "link-verified")...)
					if err == nil && m == "" {
						b.Fatal("not linked")
					}
				}
				if err != nil {
					b.Fatal(err)
				}
				dst.Close()
			}
		})
	}
}
