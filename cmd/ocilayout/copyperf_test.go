package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/ocilayout/ocilayout/layout"
	"github.com/ocilayout/ocilayout/reference"
	"github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/pkg/blobinfocache"
	"go.podman.io/image/v5/transports/alltransports"
	"go.podman.io/image/v5/types"
)

// rottedLayout writes a one-image layout (tagged "app") at dir whose layer
// is large enough to be linked between layouts, then flips one byte of the
// layer file in place (same size: only a hash can tell). It returns the
// image and the rotted bytes.
func rottedLayout(t *testing.T, dir string) (testImage, []byte) {
	t.Helper()
	noise := make([]byte, 150<<10)
	_, _ = rand.Read(noise)
	img := newTestImage(t, base64.StdEncoding.EncodeToString(noise), "amd64")
	writeLayout(t, dir, layoutEntry{name: "app", img: img})
	p := blobFile(dir, img.layer)
	bad := bytes.Clone(img.layer)
	bad[len(bad)/2] ^= 0xff
	if err := os.WriteFile(p, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	return img, bad
}

// TestTuneForCopy: the references tuneForCopy returns for oci-layout
// images behave as documented, each seen through the ImageSource and
// ImageDestination a copy.Image would open: the source streams a rotted
// layer to its end (size checked only; copy.Image hashes it), the
// destination stores a blob under the digest it is given without hashing
// it, and it links a rotted layer from another layout only with
// trustLinks. References of other transports come back unchanged.
func TestTuneForCopy(t *testing.T) {
	ctx := context.Background()
	for _, trust := range []bool{false, true} {
		t.Run(map[bool]string{false: "verified links", true: "trusted links"}[trust], func(t *testing.T) {
			base := t.TempDir()
			sys := &types.SystemContext{BlobInfoCacheDir: filepath.Join(base, "cache")}
			srcDir := filepath.Join(base, "src")
			img, _ := rottedLayout(t, srcDir)
			layerInfo := types.BlobInfo{Digest: digest.FromBytes(img.layer), Size: int64(len(img.layer))}
			srcRef, _ := reference.NewReference(srcDir, "app")
			destRef, _ := reference.NewReference(filepath.Join(base, "dst"), "app")
			tunedSrc, tunedDest := tuneForCopy(srcRef, destRef, trust)

			// Untuned, the source hashes and refuses the rotted layer ...
			if err := readBlob(ctx, t, srcRef, sys, layerInfo); !errors.As(err, new(*layout.IntegrityError)) {
				t.Fatalf("untuned source: reading the rotted layer = %v; want an IntegrityError", err)
			}
			// ... tuned, it leaves that to copy.Image.
			if err := readBlob(ctx, t, tunedSrc, sys, layerInfo); err != nil {
				t.Fatalf("tuned source: reading the rotted layer = %v; want a size-only read", err)
			}
			// A source open for a copy offers its blobs for linking, as
			// copy.Image's call of LayerInfosForCopy makes it.
			open, err := tunedSrc.NewImageSource(ctx, sys)
			if err != nil {
				t.Fatal(err)
			}
			defer open.Close()
			if _, err := open.LayerInfosForCopy(ctx, nil); err != nil {
				t.Fatal(err)
			}

			dest, err := tunedDest.NewImageDestination(ctx, sys)
			if err != nil {
				t.Fatal(err)
			}
			defer dest.Close()
			data := []byte("stored under the digest the caller gives")
			given := digest.FromString("what copy.Image has checked")
			if _, err := dest.PutBlob(ctx, bytes.NewReader(data), types.BlobInfo{Digest: given, Size: int64(len(data))}, nil, false); err != nil {
				t.Fatalf("tuned destination hashed a blob whose digest it was given: %v", err)
			}
			reused, _, err := dest.TryReusingBlob(ctx, layerInfo, blobinfocache.DefaultCache(sys), false)
			if err != nil || reused != trust {
				t.Fatalf("tuned destination (trustLinks %v) reusing the rotted layer = %v, %v; want %v", trust, reused, err, trust)
			}
		})
	}
	dirRef, err := alltransports.ParseImageName("dir:" + t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if s, d := tuneForCopy(dirRef, dirRef, true); s != dirRef || d != dirRef {
		t.Errorf("tuneForCopy changed dir: references: %#v, %#v", s, d)
	}
}

// readBlob opens ref as a source and reads blob info to its end.
func readBlob(ctx context.Context, t *testing.T, ref types.ImageReference, sys *types.SystemContext, info types.BlobInfo) error {
	t.Helper()
	src, err := ref.NewImageSource(ctx, sys)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	rc, _, err := src.GetBlob(ctx, info, nil)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(io.Discard, rc)
	return err
}

// TestCopyTrustLinkedBlobs: --trust-linked-blobs reaches the destination.
// Between two layouts on one file system, a rotted source layer is linked
// as it is with the flag (the copy succeeds and the destination holds the
// rotted bytes), and refused without it (the copy fails naming the layer,
// and the destination does not hold it).
func TestCopyTrustLinkedBlobs(t *testing.T) {
	for _, trust := range []bool{false, true} {
		t.Run(map[bool]string{false: "default", true: "--trust-linked-blobs"}[trust], func(t *testing.T) {
			base := t.TempDir()
			srcDir, destDir := filepath.Join(base, "src"), filepath.Join(base, "dst")
			img, rotted := rottedLayout(t, srcDir)
			args := []string{"copy", "--quiet", "--insecure-policy"}
			if trust {
				args = append(args, "--trust-linked-blobs")
			}
			r := runCLI(t, append(args, "oci-layout:"+srcDir+":app", "oci-layout:"+destDir+":app")...)
			got, readErr := os.ReadFile(blobFile(destDir, img.layer))
			if !trust {
				assertOneLineError(t, r, exitFailure, digest.FromBytes(img.layer).Encoded())
				if readErr == nil {
					t.Fatal("the rotted layer landed in the destination of a verified copy")
				}
				return
			}
			if r.code != 0 {
				t.Fatalf("copy --trust-linked-blobs: exit %d: %s", r.code, r.stderr)
			}
			if readErr != nil || !bytes.Equal(got, rotted) {
				t.Fatalf("destination layer: %v, equal to the rotted source %v; want it linked unhashed", readErr, bytes.Equal(got, rotted))
			}
		})
	}
}
