package destination_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/layout"
	"github.com/ocilayout/ocilayout/reference"
	"github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/transports/alltransports"
	"go.podman.io/image/v5/types"
)

// TestWithoutBlobHashing: a destination that leaves hashing to copy.Image
// still never stores a blob whose content does not match its digest when
// copy.Image drives it, because copy.Image's digest check fails the stream
// before its end. Here the source is a dir: image (nothing to link from),
// intact or with one layer altered in place (same size).
func TestWithoutBlobHashing(t *testing.T) {
	for _, tc := range []struct {
		name    string
		corrupt bool
	}{
		{"intact source", false},
		{"corrupt layer", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			base := t.TempDir()
			sys := &types.SystemContext{BlobInfoCacheDir: filepath.Join(base, "cache")}
			srcDir := filepath.Join(base, "src")
			layer := oneLayerLayout(t, srcDir)
			srcRef, _ := reference.NewReference(srcDir, "app")
			dirRef, err := alltransports.ParseImageName("dir:" + filepath.Join(base, "dir"))
			if err != nil {
				t.Fatal(err)
			}
			if err := runCopy(t, srcRef, dirRef, sys, sys, false); err != nil {
				t.Fatal(err)
			}
			d := digest.FromBytes(layer)
			if tc.corrupt {
				corrupt(t, filepath.Join(base, "dir", d.Encoded()), layer, len(layer)/2)
			}
			destDir := filepath.Join(base, "dst")
			ref, _ := reference.NewReference(destDir, "copy")
			// A fresh cache: the source layout recorded in sys's must not
			// let the destination link the intact layer instead.
			fresh := &types.SystemContext{BlobInfoCacheDir: filepath.Join(base, "cache2")}
			err = runCopy(t, dirRef, reference.With(ref, reference.WithoutSecondHash()), fresh, fresh, false)
			blob := filepath.Join(destDir, "blobs", "sha256", d.Encoded())
			if tc.corrupt {
				if err == nil || !strings.Contains(err.Error(), d.Encoded()) {
					t.Fatalf("copy of a corrupt layer: err = %v, want an error naming %s", err, d)
				}
				if _, err := os.Stat(blob); !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("corrupt layer stored (stat: %v)", err)
				}
				if left := dtTemps(t, destDir); len(left) > 0 {
					t.Fatalf("temp files left: %v", left)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(blob)
			if err != nil || !bytes.Equal(got, layer) {
				t.Fatalf("stored layer: err %v, intact %v", err, bytes.Equal(got, layer))
			}
			dl, err := layout.Open(destDir)
			if err != nil {
				t.Fatal(err)
			}
			defer dl.Close()
			rep, err := dl.Verify(ctx)
			if err != nil || len(rep.Problems) != 0 {
				t.Fatalf("verify after copy: %v %+v", err, rep)
			}
		})
	}
}

// TestWithoutBlobHashingStillHashesUnknownDigests: a blob sent without a
// digest (what copy.Image does when it compresses) is hashed to name it,
// and a size mismatch still fails.
func TestWithoutBlobHashingStillHashesUnknownDigests(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "dst")
	ref, _ := reference.NewReference(dir, "app")
	// Wrapped once more, to check that options nest: the inner one still
	// applies (the mismatched put below succeeds only without hashing).
	dest, err := reference.With(ref, reference.WithoutSecondHash(), reference.WithTrustedLinks()).NewImageDestination(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dest.Close()
	data := bytes.Repeat([]byte("layer"), 1000)
	info, err := dest.PutBlob(ctx, bytes.NewReader(data), types.BlobInfo{Size: -1}, nil, false)
	if err != nil || info.Digest != digest.FromBytes(data) || info.Size != int64(len(data)) {
		t.Fatalf("PutBlob without a digest = %+v, %v; want %s", info, err, digest.FromBytes(data))
	}
	_, err = dest.PutBlob(ctx, bytes.NewReader(data), types.BlobInfo{Digest: digest.FromString("other"), Size: int64(len(data)) + 1}, nil, false)
	if err == nil || !strings.Contains(err.Error(), "expected") {
		t.Fatalf("PutBlob with a wrong size = %v; want a size error", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "blobs", "sha256", digest.FromString("other").Encoded())); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("blob of the wrong size stored (stat: %v)", err)
	}
	// The trade-off, as documented: a caller that breaks the contract
	// (a digest that does not match a stream which ends cleanly) gets the
	// content stored under that digest, and verify is what finds it.
	liar := bytes.Repeat([]byte("LAYER"), 1000)
	if _, err := dest.PutBlob(ctx, bytes.NewReader(liar), types.BlobInfo{Digest: digest.FromBytes(data[:len(data)-1]), Size: int64(len(liar))}, nil, false); err != nil {
		t.Fatalf("PutBlob of a digest given by the caller: %v", err)
	}
	l, err := layout.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.ReadBlob(ctx, digest.FromBytes(data[:len(data)-1]), -1); err == nil {
		t.Fatal("ReadBlob of content stored under a wrong digest succeeded")
	}
}
