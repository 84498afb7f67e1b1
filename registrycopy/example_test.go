package registrycopy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/ocilayout/ocilayout/internal/fixture"
	"github.com/ocilayout/ocilayout/layout"
	"github.com/ocilayout/ocilayout/reference"
	"github.com/ocilayout/ocilayout/registrycopy"
	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/types"
)

// Pushing a layout image to a registry and pulling it back into another
// layout by the direct route, and falling back to copy.Image where the
// direct route does not apply (here: a conversion to another manifest
// type is asked for).
func ExampleCopy() {
	ctx := context.Background()
	srv := httptest.NewServer(fixture.RegistryApp())
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "registrycopy-example-")
	defer os.RemoveAll(dir)
	writeExampleImage(ctx, filepath.Join(dir, "src"), "app:v1")

	sys := &types.SystemContext{DockerInsecureSkipTLSVerify: types.OptionalBoolTrue, BlobInfoCacheDir: dir}
	pc, _ := signature.NewPolicyContext(&signature.Policy{Default: signature.PolicyRequirements{signature.NewPRInsecureAcceptAnything()}})
	defer func() { _ = pc.Destroy() }()
	registry, _ := docker.ParseReference("//" + strings.TrimPrefix(srv.URL, "http://") + "/ns/app:v1")
	src, _ := reference.NewReference(filepath.Join(dir, "src"), "app:v1")
	dest, _ := reference.NewReference(filepath.Join(dir, "dest"), "app:v1")
	o := &copy.Options{SourceCtx: sys, DestinationCtx: sys}

	pushed, err := registrycopy.Copy(ctx, pc, registry, src, o)
	if err != nil {
		log.Fatal(err)
	}
	pulled, err := registrycopy.Copy(ctx, pc, dest, registry, o)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("same manifest:", bytes.Equal(pushed, pulled))

	o.ForceManifestMIMEType = "application/vnd.docker.distribution.manifest.v2+json"
	_, err = registrycopy.Copy(ctx, pc, registry, src, o)
	if errors.Is(err, registrycopy.ErrNotApplicable) {
		fmt.Println("conversion: copy with copy.Image") // copy.Image(ctx, pc, registry, src, o)
	}
	// Output:
	// same manifest: true
	// conversion: copy with copy.Image
}

// writeExampleImage stores an image without layers under name.
func writeExampleImage(ctx context.Context, dir, name string) {
	l, err := layout.Create(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	put := func(mt string, data []byte) imgspecv1.Descriptor {
		d, n, err := l.PutBlob(ctx, bytes.NewReader(data), digest.FromBytes(data), int64(len(data)))
		if err != nil {
			log.Fatal(err)
		}
		return imgspecv1.Descriptor{MediaType: mt, Digest: d, Size: n}
	}
	m, _ := json.Marshal(imgspecv1.Manifest{Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageManifest,
		Config: put(imgspecv1.MediaTypeImageConfig, []byte(`{"os":"linux","architecture":"amd64","rootfs":{"type":"layers","diff_ids":[]}}`)), Layers: []imgspecv1.Descriptor{}})
	img := put(imgspecv1.MediaTypeImageManifest, m)
	if err := l.Update(ctx, func(tx *layout.IndexTx) error { return tx.Tag(img, name) }); err != nil {
		log.Fatal(err)
	}
}
