package registrycopy

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/internal/fixture"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/copy"
	"oras.land/oras-go/v2/registry/remote"
)

// TestPullWithSigstoreFallsBack: a registry image with a cosign signature
// (a sha256-HEX.sig tag), read with use-sigstore-attachments, has a
// signature the direct route cannot carry: it refuses, before writing
// anything, and copy.Image copies the image (without the sigstore
// signature, which containers/image writes only into its own transports:
// ocilayout copy's retry). Without use-sigstore-attachments the signature
// is not seen, by copy.Image either, and the direct route applies.
func TestPullWithSigstoreFallsBack(t *testing.T) {
	e := newEnv(t)
	pc := insecurePolicy(t)
	src := filepath.Join(t.TempDir(), "src")
	img := writeImage(t, src, "app", 1, 1024, imgspecv1.MediaTypeImageLayerGzip, 8)
	if _, err := Copy(t.Context(), pc, e.dockerRef(t, "cosigned/app:v1"), layoutRef(t, src, "app"), e.options(nil)); err != nil {
		t.Fatal(err)
	}
	pushCosignSignature(t, e.host, "cosigned/app", img)

	dst := filepath.Join(t.TempDir(), "plain")
	if _, err := Copy(t.Context(), pc, layoutRef(t, dst, "app"), e.dockerRef(t, "cosigned/app:v1"), e.options(nil)); err != nil {
		t.Fatalf("pull without use-sigstore-attachments: %v", err)
	}

	fixture.WriteFile(t, filepath.Join(e.sys.RegistriesDirPath, "sigstore.yaml"),
		[]byte("docker:\n  "+e.host+":\n    use-sigstore-attachments: true\n"))
	dst = filepath.Join(t.TempDir(), "sigstore")
	_, err := Copy(t.Context(), pc, layoutRef(t, dst, "app"), e.dockerRef(t, "cosigned/app:v1"), e.options(nil))
	if !errors.Is(err, ErrNotApplicable) || !strings.Contains(err.Error(), "signatures to carry (1)") {
		t.Fatalf("pull with a sigstore signature: %v, want ErrNotApplicable about its signature", err)
	}
	// What copy.Image itself says of this image into a layout: the
	// signature cannot be written there.
	_, err = copy.Image(t.Context(), pc, layoutRef(t, dst, "app"), e.dockerRef(t, "cosigned/app:v1"), e.options(nil))
	if err == nil || !strings.Contains(err.Error(), "sigstore") {
		t.Errorf("copy.Image of the sigstore-signed image: %v, want its sigstore refusal", err)
	}
}

// pushCosignSignature pushes what cosign pushes for a signature of img
// in repo: an OCI manifest tagged sha256-HEX.sig whose one layer is the
// simple-signing payload.
func pushCosignSignature(t *testing.T, host, repo string, img testImage) {
	t.Helper()
	r, err := remote.NewRepository(host + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	r.PlainHTTP = true
	payload := []byte(`{"critical":{"identity":{"docker-reference":"` + host + `/` + repo + `"},"image":{"docker-manifest-digest":"` + img.digest().String() + `"},"type":"cosign container image signature"},"optional":null}`)
	config := []byte(`{}`)
	layer := fixture.Descriptor("application/vnd.dev.cosign.simplesigning.v1+json", payload)
	layer.Annotations = map[string]string{"dev.cosignproject.cosign/signature": "MEUCIQ=="}
	for _, b := range []struct {
		d    imgspecv1.Descriptor
		data []byte
	}{{fixture.Descriptor("application/vnd.oci.image.config.v1+json", config), config}, {layer, payload}} {
		if err := r.Blobs().Push(t.Context(), b.d, bytes.NewReader(b.data)); err != nil {
			t.Fatal(err)
		}
	}
	m := fixture.MustJSON(t, imgspecv1.Manifest{
		Versioned: imgspec.Versioned{SchemaVersion: 2},
		MediaType: imgspecv1.MediaTypeImageManifest,
		Config:    fixture.Descriptor("application/vnd.oci.image.config.v1+json", config),
		Layers:    []imgspecv1.Descriptor{layer},
	})
	tag := "sha256-" + img.digest().Encoded() + ".sig"
	if err := r.Manifests().PushReference(t.Context(), fixture.Descriptor(imgspecv1.MediaTypeImageManifest, m), bytes.NewReader(m), tag); err != nil {
		t.Fatal(err)
	}
}
