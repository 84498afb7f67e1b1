package transport_test

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

	"github.com/ocilayout/ocilayout/reference"

	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/transports/alltransports"

	_ "github.com/ocilayout/ocilayout/transport" // registers oci-layout:
)

// Parsing oci-layout: image names. The policy identity is the resolved
// directory, whatever selects the image inside it.
func Example_parse() {
	for _, name := range []string{
		"oci-layout:/no/such/dir/images",
		"oci-layout:/no/such/dir/images:quay.io/ns/app:1.0",
		"oci-layout:/no/such/dir/images:@1",
		"oci-layout:/no/such/dir/images:@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	} {
		ref, err := alltransports.ParseImageName(name)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(ref.StringWithinTransport())
		fmt.Println("  identity:", ref.PolicyConfigurationIdentity(), "docker:", ref.DockerReference())
	}
	_, err := alltransports.ParseImageName("oci-layout:/no/such/dir/images:@-1")
	fmt.Println(err != nil)
	// Output:
	// /no/such/dir/images
	//   identity: /no/such/dir/images docker: <nil>
	// /no/such/dir/images:quay.io/ns/app:1.0
	//   identity: /no/such/dir/images docker: quay.io/ns/app:1.0
	// /no/such/dir/images:@1
	//   identity: /no/such/dir/images docker: <nil>
	// /no/such/dir/images:@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
	//   identity: /no/such/dir/images docker: <nil>
	// true
}

// Copying an image between two layouts with containers/image's copy.Image,
// plainly and then as a tool that only ever copies with copy.Image may.
func Example_copy() {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "oci-layout-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	srcDir, dstDir := filepath.Join(tmp, "src"), filepath.Join(tmp, "dst")
	manifestDigest := writeExampleLayout(srcDir, "hello")

	srcRef, err := alltransports.ParseImageName("oci-layout:" + srcDir + ":hello")
	if err != nil {
		log.Fatal(err)
	}
	dstRef, err := alltransports.ParseImageName("oci-layout:" + dstDir + ":copied")
	if err != nil {
		log.Fatal(err)
	}
	policy := &signature.Policy{Default: signature.PolicyRequirements{signature.NewPRInsecureAcceptAnything()}}
	pc, err := signature.NewPolicyContext(policy)
	if err != nil {
		log.Fatal(err)
	}
	defer pc.Destroy()
	copied, err := copy.Image(ctx, pc, dstRef, srcRef, nil)
	if err != nil {
		fmt.Println("copy failed:", err)
		return
	}
	fmt.Println("manifest unchanged:", digest.FromBytes(copied) == manifestDigest)

	// A tool whose every copy goes through copy.Image (as ocilayout copy)
	// can spare both ends the second hash of each blob: copy.Image checks
	// every digest it knows. WithTrustedLinks also links blobs from other
	// layouts on the same file system without hashing them; use it only
	// when every such layout is trusted as much as the destination.
	fastRef, err := alltransports.ParseImageName("oci-layout:" + dstDir + ":fast")
	if err != nil {
		log.Fatal(err)
	}
	fastRef = reference.With(fastRef, reference.WithoutSecondHash(), reference.WithTrustedLinks())
	if _, err := copy.Image(ctx, pc, fastRef, reference.With(srcRef, reference.WithoutSecondHash()), nil); err != nil {
		fmt.Println("copy failed:", err)
		return
	}

	var index imgspecv1.Index
	readJSON(filepath.Join(dstDir, "index.json"), &index)
	for _, d := range index.Manifests {
		fmt.Println(d.Annotations[imgspecv1.AnnotationRefName], d.Digest == manifestDigest)
	}
	// Output:
	// manifest unchanged: true
	// copied true
	// fast true
}

// writeExampleLayout writes, by hand, an OCI layout at dir holding one image
// tagged name: one layer with /hello.txt, and a minimal config. It returns
// the manifest digest.
func writeExampleLayout(dir, name string) digest.Digest {
	var layer bytes.Buffer
	gz := gzip.NewWriter(&layer)
	tw := tar.NewWriter(gz)
	content := []byte("hello from an OCI layout\n")
	must(tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}))
	_, err := tw.Write(content)
	must(err)
	must(tw.Close())
	must(gz.Close())
	diffID := digest.FromBytes(mustGunzip(layer.Bytes()))

	config := mustJSON(imgspecv1.Image{
		Platform: imgspecv1.Platform{OS: "linux", Architecture: "amd64"},
		RootFS:   imgspecv1.RootFS{Type: "layers", DiffIDs: []digest.Digest{diffID}},
	})
	manifest := mustJSON(imgspecv1.Manifest{
		Versioned: imgspec.Versioned{SchemaVersion: 2},
		MediaType: imgspecv1.MediaTypeImageManifest,
		Config:    writeBlob(dir, imgspecv1.MediaTypeImageConfig, config),
		Layers:    []imgspecv1.Descriptor{writeBlob(dir, imgspecv1.MediaTypeImageLayerGzip, layer.Bytes())},
	})
	desc := writeBlob(dir, imgspecv1.MediaTypeImageManifest, manifest)
	desc.Annotations = map[string]string{imgspecv1.AnnotationRefName: name}
	index := mustJSON(imgspecv1.Index{
		Versioned: imgspec.Versioned{SchemaVersion: 2},
		MediaType: imgspecv1.MediaTypeImageIndex,
		Manifests: []imgspecv1.Descriptor{desc},
	})
	must(os.WriteFile(filepath.Join(dir, "index.json"), index, 0o644))
	must(os.WriteFile(filepath.Join(dir, imgspecv1.ImageLayoutFile), mustJSON(imgspecv1.ImageLayout{Version: imgspecv1.ImageLayoutVersion}), 0o644))
	return desc.Digest
}

func writeBlob(dir, mediaType string, data []byte) imgspecv1.Descriptor {
	d := digest.FromBytes(data)
	blobDir := filepath.Join(dir, "blobs", d.Algorithm().String())
	must(os.MkdirAll(blobDir, 0o755))
	must(os.WriteFile(filepath.Join(blobDir, d.Encoded()), data, 0o644))
	return imgspecv1.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(data))}
}

func mustGunzip(data []byte) []byte {
	r, err := gzip.NewReader(bytes.NewReader(data))
	must(err)
	out, err := io.ReadAll(r)
	must(err)
	return out
}

func mustJSON(v any) []byte {
	data, err := json.Marshal(v)
	must(err)
	return data
}

func readJSON(path string, v any) {
	data, err := os.ReadFile(path)
	must(err)
	must(json.Unmarshal(data, v))
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
