package registrycopy

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/layout"
	"github.com/ocilayout/ocilayout/simplesign"
	_ "github.com/ocilayout/ocilayout/transport" // oci-layout: for copy.Image's references
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/pkg/compression"
	"go.podman.io/image/v5/signature"
)

// TestDirectMatchesCopyImage pushes one layout image to a registry through
// the direct route and through copy.Image, then pulls each back into a
// layout by the other route: the registry serves the same manifest for
// both pushes, and the two pulled layouts hold the same index entries and
// the same blob files, byte for byte.
func TestDirectMatchesCopyImage(t *testing.T) {
	e := newEnv(t)
	pc := insecurePolicy(t)
	src := filepath.Join(t.TempDir(), "src")
	img := writeImage(t, src, "app", 3, 256<<10, imgspecv1.MediaTypeImageLayerGzip, 1)

	var report bytes.Buffer
	m, err := Copy(t.Context(), pc, e.dockerRef(t, "direct/app:v1"), layoutRef(t, src, "app"), e.options(&report))
	if err != nil {
		t.Fatalf("direct push: %v", err)
	}
	if !bytes.Equal(m, img.manifest) {
		t.Errorf("direct push returned another manifest")
	}
	if !strings.Contains(report.String(), "Copying directly to the registry") {
		t.Errorf("report does not show the direct route:\n%s", report.String())
	}
	if _, err := copy.Image(t.Context(), pc, e.dockerRef(t, "image/app:v1"), layoutRef(t, src, "app"), e.options(nil)); err != nil {
		t.Fatalf("copy.Image push: %v", err)
	}
	direct, viaImage := e.registryManifest(t, "direct/app", "v1"), e.registryManifest(t, "image/app", "v1")
	if !bytes.Equal(direct, img.manifest) || !bytes.Equal(viaImage, img.manifest) {
		t.Fatalf("registry manifests differ from the layout's:\ndirect   %s\ncopy.Image %s\nlayout   %s", direct, viaImage, img.manifest)
	}

	dirDirect, dirImage := filepath.Join(t.TempDir(), "direct"), filepath.Join(t.TempDir(), "image")
	report.Reset()
	if _, err := Copy(t.Context(), pc, layoutRef(t, dirDirect, "app"), e.dockerRef(t, "image/app:v1"), e.options(&report)); err != nil {
		t.Fatalf("direct pull: %v", err)
	}
	if !strings.Contains(report.String(), "Copying directly from the registry") {
		t.Errorf("report does not show the direct route:\n%s", report.String())
	}
	if _, err := copy.Image(t.Context(), pc, layoutRef(t, dirImage, "app"), e.dockerRef(t, "direct/app:v1"), e.options(nil)); err != nil {
		t.Fatalf("copy.Image pull: %v", err)
	}
	ed, fd := layoutState(t, dirDirect)
	ei, fi := layoutState(t, dirImage)
	if ed != ei {
		t.Errorf("index entries differ:\ndirect     %s\ncopy.Image %s", ed, ei)
	}
	if !reflect.DeepEqual(fd, fi) {
		t.Errorf("blob files differ:\ndirect     %q\ncopy.Image %q", fd, fi)
	}
	if len(fd) != 5 { // 3 layers, config, manifest
		t.Errorf("pulled layout holds %d blobs, want 5: %q", len(fd), fd)
	}
	l, err := layout.Open(dirDirect)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rep, err := l.Verify(t.Context())
	if err != nil || len(rep.Problems) != 0 {
		t.Errorf("verify of the direct pull: %v %v", err, rep)
	}
}

// TestDirectSkipsAndMounts: a second push to the same repository sends no
// blob (one HEAD each), a push to another repository of the registry
// mounts them (the blob info cache knows where they are), and a pull into
// a layout that holds the blobs fetches none.
func TestDirectSkipsAndMounts(t *testing.T) {
	e := newEnv(t)
	pc := insecurePolicy(t)
	src := filepath.Join(t.TempDir(), "src")
	img := writeImage(t, src, "app", 2, 64<<10, imgspecv1.MediaTypeImageLayerGzip, 2)
	push := func(repoTag string) string {
		var report bytes.Buffer
		if _, err := Copy(t.Context(), pc, e.dockerRef(t, repoTag), layoutRef(t, src, "app"), e.options(&report)); err != nil {
			t.Fatalf("push to %s: %v", repoTag, err)
		}
		return report.String()
	}
	push("a/app:v1")
	if r := push("a/app:v2"); strings.Count(r, "skipped: already exists") != 3 {
		t.Errorf("second push to the repository sent blobs:\n%s", r)
	}
	push("b/app:v1")
	for _, l := range img.layers {
		if !e.registryHasBlob(t, "b/app", fixtureDigest(l)) {
			t.Errorf("b/app lacks layer %s", fixtureDigest(l))
		}
	}
	if !bytes.Equal(e.registryManifest(t, "b/app", "v1"), img.manifest) {
		t.Errorf("b/app:v1 is not the image")
	}

	dst := filepath.Join(t.TempDir(), "dst")
	var report bytes.Buffer
	for _, tag := range []string{"one", "two"} {
		report.Reset()
		if _, err := Copy(t.Context(), pc, layoutRef(t, dst, tag), e.dockerRef(t, "a/app:v1"), e.options(&report)); err != nil {
			t.Fatalf("pull as %s: %v", tag, err)
		}
	}
	if n := strings.Count(report.String(), "skipped: already exists"); n != 3 {
		t.Errorf("second pull into the layout fetched blobs again (%d skipped):\n%s", n, report.String())
	}
}

// TestDirectNotApplicable: every option or image the direct route cannot
// copy as copy.Image would is refused with ErrNotApplicable before
// anything is written, and the copy then made by copy.Image works.
func TestDirectNotApplicable(t *testing.T) {
	e := newEnv(t)
	pc := insecurePolicy(t)
	src := filepath.Join(t.TempDir(), "src")
	writeImage(t, src, "app", 1, 1024, imgspecv1.MediaTypeImageLayerGzip, 3)
	writeImage(t, src, "plain", 1, 1024, imgspecv1.MediaTypeImageLayer, 4)
	signed := writeImage(t, src, "signed", 1, 1024, imgspecv1.MediaTypeImageLayerGzip, 5)
	addSignature(t, src, signed)
	if _, err := Copy(t.Context(), pc, e.dockerRef(t, "pulled/app:v1"), layoutRef(t, src, "app"), e.options(nil)); err != nil {
		t.Fatal(err)
	}
	zstd := compression.Zstd
	for _, tc := range []struct {
		name   string
		toReg  bool // layout → registry, else registry → layout
		image  string
		change func(*copy.Options)
		want   string
	}{
		{"manifest type", true, "app", func(o *copy.Options) {
			o.ForceManifestMIMEType = "application/vnd.docker.distribution.manifest.v2+json"
		}, "manifest type"},
		{"compression format", true, "app", func(o *copy.Options) { o.DestinationCtx = withCompression(o.DestinationCtx, &zstd) }, "compression"},
		{"dest-compress into a layout", false, "", func(o *copy.Options) { o.DestinationCtx = withDirCompress(o.DestinationCtx) }, "compression"},
		{"instances", false, "", func(o *copy.Options) { o.ImageListSelection = copy.CopySpecificImages }, "instances"},
		{"signing", true, "app", func(o *copy.Options) { o.SignBy = "someone@example.com" }, "signing"},
		{"uncompressed layer pushed", true, "plain", nil, "would convert layer"},
		{"signed image", true, "signed", nil, "signatures to carry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := e.options(nil)
			if tc.change != nil {
				tc.change(o)
			}
			dst := filepath.Join(t.TempDir(), "dst")
			var err error
			if tc.toReg {
				_, err = Copy(t.Context(), pc, e.dockerRef(t, "na/"+tc.image+":v1"), layoutRef(t, src, tc.image), o)
			} else {
				_, err = Copy(t.Context(), pc, layoutRef(t, dst, "app"), e.dockerRef(t, "pulled/app:v1"), o)
			}
			if !errors.Is(err, ErrNotApplicable) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrNotApplicable about %q", err, tc.want)
			}
			if tc.toReg && e.registryManifest(t, "na/"+tc.image, "v1") != nil {
				t.Errorf("the refused push left a manifest in the registry")
			}
			if _, err := os.Stat(dst); !tc.toReg && !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the refused pull created the layout: %v", err)
			}
		})
	}
	// Without its signature to carry, the signed image goes direct.
	o := e.options(nil)
	o.RemoveSignatures = true
	if _, err := Copy(t.Context(), pc, e.dockerRef(t, "na/signed:v1"), layoutRef(t, src, "signed"), o); err != nil {
		t.Errorf("--remove-signatures push of a signed image: %v", err)
	}
}

// TestDirectEnforcesPolicy: a policy that requires signatures is checked
// on the source by the direct route itself: an unsigned image is rejected
// in either direction, and nothing is written.
func TestDirectEnforcesPolicy(t *testing.T) {
	e := newEnv(t)
	src := filepath.Join(t.TempDir(), "src")
	writeImage(t, src, "app", 1, 1024, imgspecv1.MediaTypeImageLayerGzip, 6)
	if _, err := Copy(t.Context(), insecurePolicy(t), e.dockerRef(t, "ok/app:v1"), layoutRef(t, src, "app"), e.options(nil)); err != nil {
		t.Fatal(err)
	}
	keyring := filepath.Join(t.TempDir(), "keyring.gpg")
	if err := os.WriteFile(keyring, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	req, err := signature.NewPRSignedByKeyPath(signature.SBKeyTypeGPGKeys, keyring, signature.NewPRMMatchRepoDigestOrExact())
	if err != nil {
		t.Fatal(err)
	}
	pc := policyContext(t, req)
	_, err = Copy(t.Context(), pc, e.dockerRef(t, "signed-only/app:v1"), layoutRef(t, src, "app"), e.options(nil))
	if err == nil || errors.Is(err, ErrNotApplicable) || !strings.Contains(err.Error(), "rejected") {
		t.Errorf("push of an unsigned image under a signedBy policy: %v", err)
	}
	if e.registryManifest(t, "signed-only/app", "v1") != nil {
		t.Errorf("the rejected push left a manifest")
	}
	dst := filepath.Join(t.TempDir(), "dst")
	_, err = Copy(t.Context(), pc, layoutRef(t, dst, "app"), e.dockerRef(t, "ok/app:v1"), e.options(nil))
	if err == nil || errors.Is(err, ErrNotApplicable) || !strings.Contains(err.Error(), "rejected") {
		t.Errorf("pull of an unsigned image under a signedBy policy: %v", err)
	}
	if _, err := os.Stat(dst); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the rejected pull created the layout: %v", err)
	}
}

// TestPushRefusesRottenBlob: a layer changed in the layout after it was
// stored (same size, other bytes) is sent unhashed, but the registry
// recomputes the digest and refuses it, so the push fails naming the
// blob and the tag never appears; a layer of the wrong size is refused
// before anything is sent.
func TestPushRefusesRottenBlob(t *testing.T) {
	for _, tc := range []struct {
		name string
		rot  func([]byte) []byte
		want string
	}{
		{"same size", func(b []byte) []byte { c := bytes.Clone(b); c[len(c)/2] ^= 0xff; return c }, "digest"},
		{"truncated", func(b []byte) []byte { return b[:len(b)-1] }, "corrupt: size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			src := filepath.Join(t.TempDir(), "src")
			img := writeImage(t, src, "app", 2, 64<<10, imgspecv1.MediaTypeImageLayerGzip, 7)
			p := filepath.Join(src, "blobs", "sha256", fixtureDigest(img.layers[1]).Encoded())
			if err := os.WriteFile(p, tc.rot(img.layers[1]), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Copy(t.Context(), insecurePolicy(t), e.dockerRef(t, "rot/app:v1"), layoutRef(t, src, "app"), e.options(nil))
			if err == nil || !strings.Contains(err.Error(), fixtureDigest(img.layers[1]).String()) || !strings.Contains(strings.ToLower(err.Error()), tc.want) {
				t.Fatalf("push of a rotten layer: %v, want an error about %q naming the layer", err, tc.want)
			}
			if e.registryManifest(t, "rot/app", "v1") != nil {
				t.Errorf("the failed push left the tag")
			}
			if e.registryHasBlob(t, "rot/app", fixtureDigest(img.layers[1])) {
				t.Errorf("the registry holds the rotten layer")
			}
		})
	}
}

func addSignature(t *testing.T, dir string, img testImage) {
	t.Helper()
	l, err := layout.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	subject := imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest, Digest: img.digest(), Size: int64(len(img.manifest))}
	if err := simplesign.Add(t.Context(), l, subject, [][]byte{[]byte("not checked under insecureAcceptAnything")}); err != nil {
		t.Fatal(err)
	}
}
