package referrers_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ocilayout/ocilayout/layout"
	"github.com/ocilayout/ocilayout/referrers"
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// An SBOM attached to an image and a signature attached to the SBOM,
// listed as a tree.
func ExampleList() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "referrers-example")
	defer os.RemoveAll(dir)
	l, err := layout.Create(filepath.Join(dir, "l"))
	if err != nil {
		panic(err)
	}
	defer l.Close()
	put := func(mediaType string, data []byte) imgspecv1.Descriptor {
		d, n, err := l.PutBlob(ctx, bytes.NewReader(data), digest.FromBytes(data), int64(len(data)))
		if err != nil {
			panic(err)
		}
		return imgspecv1.Descriptor{MediaType: mediaType, Digest: d, Size: n}
	}
	// Any manifest can be a subject; here an artifact of our own.
	image, err := l.PutArtifact(ctx, put("application/json", []byte(`{}`)), layout.Artifact{ArtifactType: "application/vnd.example.image"})
	if err != nil {
		panic(err)
	}
	image.Annotations = nil
	if err := l.Update(ctx, func(tx *layout.IndexTx) error { return tx.Tag(image, "app") }); err != nil {
		panic(err)
	}
	sbom, err := l.Attach(ctx, image, layout.Artifact{ArtifactType: "application/spdx+json",
		Layers: []imgspecv1.Descriptor{put("application/spdx+json", []byte(`{"spdxVersion":"SPDX-2.3"}`))}})
	if err != nil {
		panic(err)
	}
	if _, err := l.Attach(ctx, sbom[0], layout.Artifact{ArtifactType: "application/vnd.example.signature",
		Layers: []imgspecv1.Descriptor{put("application/octet-stream", []byte("signature"))}}); err != nil {
		panic(err)
	}

	rs, err := referrers.List(ctx, l, image.Digest, "", true)
	if err != nil {
		panic(err)
	}
	for _, r := range rs {
		fmt.Println(r.ArtifactType, r.Source)
		for _, c := range r.Referrers {
			fmt.Println("  ", c.ArtifactType, c.Source)
		}
	}
	// Output:
	// application/spdx+json index
	//    application/vnd.example.signature index
}
