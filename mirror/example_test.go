package mirror_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/signature"

	"github.com/ocilayout/ocilayout/mirror"
	_ "github.com/ocilayout/ocilayout/transport" // registers oci-layout:
)

// Mirroring every name of one layout into another, twice: the second run
// finds every image unchanged and copies nothing. A registry source is
// the same call with Source{Repository: "quay.io/ns/app"}, and a registry
// destination Destination{Registry: "registry.internal:5000/mirror"}.
func Example() {
	tmp, err := os.MkdirTemp("", "mirror-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	src, dst := filepath.Join(tmp, "src"), filepath.Join(tmp, "mirror")
	writeExampleLayout(src, "quay.io/ns/app:v1", "quay.io/ns/app:v2")

	opts := mirror.Options{
		Sources:     []mirror.Source{{Layout: src}},
		Destination: mirror.Destination{Layout: dst},
		Policy:      &signature.Policy{Default: signature.PolicyRequirements{signature.NewPRInsecureAcceptAnything()}},
		Parallel:    2,
	}
	for range 2 {
		report, err := mirror.Run(context.Background(), opts)
		if err != nil {
			log.Fatal(err)
		}
		for _, r := range report.Images {
			fmt.Println(r.Action, r.Destination)
		}
		fmt.Println(report.Summary())
	}
	// Output:
	// copied quay.io/ns/app:v1
	// copied quay.io/ns/app:v2
	// 2 images: 2 copied, 0 unchanged, 0 skipped, 0 failed; 0 pruned
	// unchanged quay.io/ns/app:v1
	// unchanged quay.io/ns/app:v2
	// 2 images: 0 copied, 2 unchanged, 0 skipped, 0 failed; 0 pruned
}

// writeExampleLayout writes, by hand, an OCI layout at dir with one image
// under each of names, each its own (one layer holding /hello.txt, whose
// content names the image).
func writeExampleLayout(dir string, names ...string) {
	index := imgspecv1.Index{Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageIndex}
	for _, name := range names {
		var layer bytes.Buffer
		gz := gzip.NewWriter(&layer)
		tw := tar.NewWriter(gz)
		content := []byte("hello from " + name + "\n")
		must(tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}))
		_, err := tw.Write(content)
		must(err)
		must(tw.Close())
		must(gz.Close())
		r, err := gzip.NewReader(bytes.NewReader(layer.Bytes()))
		must(err)
		tarStream, err := io.ReadAll(r)
		must(err)
		config := mustJSON(imgspecv1.Image{
			Platform: imgspecv1.Platform{OS: "linux", Architecture: "amd64"},
			RootFS:   imgspecv1.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromBytes(tarStream)}},
		})
		manifest := mustJSON(imgspecv1.Manifest{
			Versioned: imgspec.Versioned{SchemaVersion: 2},
			MediaType: imgspecv1.MediaTypeImageManifest,
			Config:    writeBlob(dir, imgspecv1.MediaTypeImageConfig, config),
			Layers:    []imgspecv1.Descriptor{writeBlob(dir, imgspecv1.MediaTypeImageLayerGzip, layer.Bytes())},
		})
		desc := writeBlob(dir, imgspecv1.MediaTypeImageManifest, manifest)
		desc.Annotations = map[string]string{imgspecv1.AnnotationRefName: name}
		index.Manifests = append(index.Manifests, desc)
	}
	must(os.WriteFile(filepath.Join(dir, "index.json"), mustJSON(index), 0o644))
	must(os.WriteFile(filepath.Join(dir, imgspecv1.ImageLayoutFile), mustJSON(imgspecv1.ImageLayout{Version: imgspecv1.ImageLayoutVersion}), 0o644))
}

func writeBlob(dir, mediaType string, data []byte) imgspecv1.Descriptor {
	d := digest.FromBytes(data)
	blobDir := filepath.Join(dir, "blobs", d.Algorithm().String())
	must(os.MkdirAll(blobDir, 0o755))
	must(os.WriteFile(filepath.Join(blobDir, d.Encoded()), data, 0o644))
	return imgspecv1.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(data))}
}

func mustJSON(v any) []byte {
	data, err := json.Marshal(v)
	must(err)
	return data
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
