package source_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/reference"

	"github.com/ocilayout/ocilayout/layout"
	"go.podman.io/image/v5/types"
)

// TestGetBlobVerifiesItself reads a layer whose bytes rotted on disk (same
// size, one byte flipped) through the source's own GetBlob, with no
// copy.Image around it: a library reader must get an *layout.IntegrityError
// from the source itself. TestCopyCorruptBlobFails cannot tell this apart,
// because copy.Image's own digest check names the blob too. With
// source.WithoutBlobHashing the same read ends cleanly (size only), which is
// what makes the default observable; a truncated blob still fails there.
func TestGetBlobVerifiesItself(t *testing.T) {
	layer := make([]byte, 100<<10)
	_, _ = rand.Read(layer)
	for _, tc := range []struct {
		name     string
		unhashed bool
		truncate bool
		wantErr  bool
	}{
		{name: "default hashes", wantErr: true},
		{name: "without blob hashing: size only", unhashed: true},
		{name: "without blob hashing: truncation still fails", unhashed: true, truncate: true, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref, descs := newImage(t, layer)
			dir := strings.TrimSuffix(ref.StringWithinTransport(), ":app")
			p := filepath.Join(dir, "blobs", "sha256", descs[0].Digest.Encoded())
			bad := bytes.Clone(layer)
			bad[len(bad)/2] ^= 0x40
			if tc.truncate {
				bad = bad[:len(bad)-1]
			}
			_ = os.Chmod(p, 0o644)
			if err := os.WriteFile(p, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			r := ref
			if tc.unhashed {
				r = reference.With(ref, reference.WithoutSecondHash())
			}
			src, err := r.NewImageSource(context.Background(), &types.SystemContext{BlobInfoCacheDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			rc, _, err := src.GetBlob(context.Background(), types.BlobInfo{Digest: descs[0].Digest, Size: descs[0].Size}, nil)
			if err == nil {
				_, err = io.ReadAll(rc)
				rc.Close()
			}
			var integrity *layout.IntegrityError
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("reading a rotted blob without hashing: %v; want a clean read (size only)", err)
				}
				return
			}
			if !errors.As(err, &integrity) || integrity.Digest != descs[0].Digest {
				t.Fatalf("reading a corrupt blob through GetBlob = %v; want an *layout.IntegrityError for %s", err, descs[0].Digest)
			}
		})
	}
}

// TestGetBlobChecksDeclaredSize: GetBlob refuses, up front, a blob whose
// size on disk is not the one asked for, 0 included.
func TestGetBlobChecksDeclaredSize(t *testing.T) {
	ref, descs := newImage(t, []byte("seven b"))
	src, err := ref.NewImageSource(context.Background(), &types.SystemContext{BlobInfoCacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for _, size := range []int64{0, 6, 8} {
		rc, _, err := src.GetBlob(context.Background(), types.BlobInfo{Digest: descs[0].Digest, Size: size}, nil)
		var integrity *layout.IntegrityError
		if !errors.As(err, &integrity) {
			if err == nil {
				rc.Close()
			}
			t.Errorf("GetBlob of a 7-byte blob asked as %d bytes = %v; want an IntegrityError", size, err)
		}
	}
}
