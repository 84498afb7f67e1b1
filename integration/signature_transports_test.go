package integration

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ocilayout/ocilayout/internal/layouttest"

	"github.com/ocilayout/ocilayout/internal/fixture"
	"github.com/ocilayout/ocilayout/layout"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/transports/alltransports"
	"go.podman.io/image/v5/types"
)

// TestSignaturesThroughDirAndRegistry: oci-layout → dir: → oci-layout, and
// oci-layout → registry (lookaside store from registries.d) → oci-layout →
// another registry repository, keep the signature, which still verifies at
// the end.
func TestSignaturesThroughDirAndRegistry(t *testing.T) {
	key := newTestKey(t, "Release Signer", "")
	dir := signedLayout(t, key, 61)
	src := "oci-layout:" + dir + ":" + signedName
	want := signaturesOf(t, src, nil)
	if len(want) != 1 {
		t.Fatalf("signed layout has %d signatures", len(want))
	}
	same := func(where string, sys *types.SystemContext) {
		t.Helper()
		if got := signaturesOf(t, where, sys); !slices.EqualFunc(got, want, bytes.Equal) {
			t.Fatalf("%s has %d signatures, want the original one", where, len(got))
		}
	}

	d := "dir:" + t.TempDir()
	if err := copyIn(t, policyFor(t, dir, signedByPath(key)), src, d, nil, false); err != nil {
		t.Fatal(err)
	}
	same(d, nil)
	back := filepath.Join(t.TempDir(), "from-dir")
	if err := copyIn(t, acceptAnything(t), d, "oci-layout:"+back+":"+signedName, nil, false); err != nil {
		t.Fatal(err)
	}
	same("oci-layout:"+back+":"+signedName, nil)

	host := startCountingRegistry(t).host
	sys := ioSystemContext(t)
	sys.RegistriesDirPath = lookasideConfig(t)
	reg1 := "docker://" + host + "/ns/app:v1"
	if err := copyIn(t, policyFor(t, back, signedByPath(key)), "oci-layout:"+back+":"+signedName, reg1, sys, false); err != nil {
		t.Fatalf("push to registry: %v", err)
	}
	same(reg1, sys)
	mirror := filepath.Join(t.TempDir(), "mirror")
	if err := copyIn(t, acceptAnything(t), reg1, "oci-layout:"+mirror+":"+signedName, sys, false); err != nil {
		t.Fatalf("pull from registry: %v", err)
	}
	same("oci-layout:"+mirror+":"+signedName, nil)
	reg2 := "docker://" + host + "/ns/copy:v1"
	if err := copyIn(t, policyFor(t, mirror, signedByPath(key)), "oci-layout:"+mirror+":"+signedName, reg2, sys, false); err != nil {
		t.Fatalf("verified push of the mirrored image: %v", err)
	}
	same(reg2, sys)
	checkLayout(t, mirror)
}

// lookasideConfig writes a registries.d directory that stores and reads
// signatures of every registry in a file:// lookaside directory.
func lookasideConfig(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	store := filepath.Join(t.TempDir(), "lookaside")
	if err := os.MkdirAll(store, 0o755); err != nil {
		t.Fatal(err)
	}
	fixture.WriteFile(t, filepath.Join(d, "default.yaml"), []byte("default-docker:\n  lookaside: file://"+store+"\n"))
	return d
}

// TestInstanceSignaturesWithAll: signatures of the instances of a
// multi-arch index travel with copy --all, each verified per instance.
func TestInstanceSignaturesWithAll(t *testing.T) {
	key := newTestKey(t, "Release Signer", "")
	dir := filepath.Join(t.TempDir(), "multi")
	amd := writeRandomImage(t, dir, "", imageSpec{seed: 71, layers: 1, layerSize: 4 << 10})
	arm := writeRandomImage(t, dir, "", imageSpec{seed: 72, layers: 1, layerSize: 4 << 10, arch: "arm64"})
	l, err := layout.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	idx, err := l.Index(ctx)
	if err != nil {
		t.Fatal(err)
	}
	list := imgspecv1.Index{MediaType: imgspecv1.MediaTypeImageIndex, Manifests: idx.Manifests}
	list.SchemaVersion = 2
	list.Manifests[0].Platform = &imgspecv1.Platform{OS: "linux", Architecture: "amd64"}
	list.Manifests[1].Platform = &imgspecv1.Platform{OS: "linux", Architecture: "arm64"}
	data := fixture.MustJSON(t, list)
	ld, err := layouttest.PutBytes(l, ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	top := imgspecv1.Index{MediaType: imgspecv1.MediaTypeImageIndex, Manifests: []imgspecv1.Descriptor{{
		MediaType: imgspecv1.MediaTypeImageIndex, Digest: ld, Size: int64(len(data)),
		Annotations: map[string]string{imgspecv1.AnnotationRefName: signedName},
	}}}
	top.SchemaVersion = 2
	fixture.WriteFile(t, filepath.Join(dir, "index.json"), fixture.MustJSON(t, top))
	for _, d := range []string{amd.String(), arm.String()} {
		mustRunCLI(t, "sign", "--key", key.secretPath, "--identity", signedName, "oci-layout:"+dir+":@"+d)
	}

	dst := filepath.Join(t.TempDir(), "copy")
	pc, err := signature.NewPolicyContext(acceptAnything(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Destroy()
	srcRef, _ := alltransports.ParseImageName("oci-layout:" + dir + ":" + signedName)
	dstRef, _ := alltransports.ParseImageName("oci-layout:" + dst + ":" + signedName)
	if _, err := copy.Image(ctx, pc, dstRef, srcRef, &copy.Options{ImageListSelection: copy.CopyAllImages}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{amd.String(), arm.String()} {
		want := signaturesOf(t, "oci-layout:"+dir+":@"+d, nil)
		got := signaturesOf(t, "oci-layout:"+dst+":@"+d, nil)
		if len(want) != 1 || !slices.EqualFunc(got, want, bytes.Equal) {
			t.Fatalf("instance %s: %d signatures after copy --all, source has %d", d, len(got), len(want))
		}
		// The copied instance verifies on its own. An @DIGEST reference has
		// no Docker reference, so the identity is given as exactReference.
		req := signedByPath(key)
		req["signedIdentity"] = map[string]any{"type": "exactReference", "dockerReference": signedName}
		if err := copyIn(t, policyFor(t, dst, req), "oci-layout:"+dst+":@"+d, "dir:"+t.TempDir(), nil, false); err != nil {
			t.Fatalf("instance %s: %v", d, err)
		}
	}
	checkLayout(t, dst)

	// Moving the name to another image drops the index and, with it, its
	// instances' signatures and fallback tags.
	other := filepath.Join(t.TempDir(), "other")
	writeRandomImage(t, other, "x", imageSpec{seed: 73, layers: 1, layerSize: 1 << 10})
	if err := copyIn(t, acceptAnything(t), "oci-layout:"+other+":x", "oci-layout:"+dst+":"+signedName, nil, false); err != nil {
		t.Fatal(err)
	}
	for _, e := range checkLayout(t, dst) {
		if e.Annotations[layout.AnnotationSubject] != "" {
			t.Errorf("after the tag move index.json still lists referrer %s (%q) of %s", e.Digest, e.Name, e.Annotations[layout.AnnotationSubject])
		}
	}
}
