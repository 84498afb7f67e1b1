package destination_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/reference"
	"github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/types"
)

// TestTrustedLinksDoNotHash shows what WithTrustedLinks changes, through
// copy.Image alone: a source layer that rotted in place (same size, one
// byte flipped) is linked as it is, unhashed, and the copy succeeds, while
// the default, verified destination refuses the link and the copy fails
// naming the layer (TestCopyRefusesCorruptLinkedBlob). Without this test a
// WithTrustedLinks that did nothing would pass every other one: a verified
// link of an intact blob looks the same as a trusted one.
func TestTrustedLinksDoNotHash(t *testing.T) {
	for _, trusted := range []bool{false, true} {
		t.Run(map[bool]string{false: "verified refuses", true: "trusted links as is"}[trusted], func(t *testing.T) {
			base := t.TempDir()
			sys := &types.SystemContext{BlobInfoCacheDir: filepath.Join(base, "cache")}
			srcDir := filepath.Join(base, "src")
			layer := oneLayerLayout(t, srcDir)
			d := digest.FromBytes(layer)
			srcBlob := filepath.Join(srcDir, "blobs", "sha256", d.Encoded())
			corrupt(t, srcBlob, layer, len(layer)/2)
			rotted, err := os.ReadFile(srcBlob)
			if err != nil {
				t.Fatal(err)
			}
			srcRef, _ := reference.NewReference(srcDir, "app")
			destDir := filepath.Join(base, "dst")
			destRef, _ := reference.NewReference(destDir, "copy")
			if trusted {
				destRef = reference.With(destRef, reference.WithTrustedLinks())
			}
			err = runCopy(t, srcRef, destRef, sys, sys, false)
			got, readErr := os.ReadFile(filepath.Join(destDir, "blobs", "sha256", d.Encoded()))
			if !trusted {
				if err == nil || !strings.Contains(err.Error(), d.Encoded()) {
					t.Fatalf("verified copy of a rotted layer: err = %v, want an error naming %s", err, d)
				}
				if readErr == nil {
					t.Fatal("the rotted layer landed in a verified destination")
				}
				return
			}
			if err != nil {
				t.Fatalf("trusted copy: %v (a trusted link does not hash, so the rotted layer should have been linked)", err)
			}
			if readErr != nil || !bytes.Equal(got, rotted) {
				t.Fatalf("destination layer: err %v, equal to the rotted source %v; want it linked as is", readErr, bytes.Equal(got, rotted))
			}
		})
	}
}
