package source_test

import (
	"context"
	"crypto/rand"
	"io"
	"testing"

	"github.com/ocilayout/ocilayout/reference"

	"go.podman.io/image/v5/types"
)

// BenchmarkGetBlob measures streaming one 64 MiB blob with and without the
// source's own digest check: the cost WithoutBlobHashing saves a tool whose
// reads all go through copy.Image (which hashes the stream itself).
func BenchmarkGetBlob(b *testing.B) {
	data := make([]byte, 64<<20)
	_, _ = rand.Read(data)
	ref, descs := newImage(b, data)
	sys := &types.SystemContext{BlobInfoCacheDir: b.TempDir()}
	for _, hashing := range []bool{true, false} {
		name := "size-only"
		if hashing {
			name = "hashing"
		}
		b.Run(name, func(b *testing.B) {
			r := ref
			if !hashing {
				r = reference.With(ref, reference.WithoutSecondHash())
			}
			src, err := r.NewImageSource(context.Background(), sys)
			if err != nil {
				b.Fatal(err)
			}
			defer src.Close()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				rc, _, err := src.GetBlob(context.Background(), types.BlobInfo{Digest: descs[0].Digest, Size: descs[0].Size}, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, rc); err != nil {
					b.Fatal(err)
				}
				rc.Close()
			}
		})
	}
}
