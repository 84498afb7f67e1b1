package layout_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/ocilayout/ocilayout/layout"
	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// put stores data as a blob and returns its descriptor.
func put(ctx context.Context, l *layout.Layout, mediaType string, data []byte) imgspecv1.Descriptor {
	d, n, err := l.PutBlob(ctx, bytes.NewReader(data), digest.FromBytes(data), int64(len(data)))
	if err != nil {
		log.Fatal(err)
	}
	return imgspecv1.Descriptor{MediaType: mediaType, Digest: d, Size: n}
}

// putImage stores a one-layer image and returns its manifest's descriptor.
func putImage(ctx context.Context, l *layout.Layout, layer string) imgspecv1.Descriptor {
	config := put(ctx, l, imgspecv1.MediaTypeImageConfig, []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`))
	m, _ := json.Marshal(imgspecv1.Manifest{
		Versioned: imgspec.Versioned{SchemaVersion: 2},
		MediaType: imgspecv1.MediaTypeImageManifest,
		Config:    config,
		Layers:    []imgspecv1.Descriptor{put(ctx, l, imgspecv1.MediaTypeImageLayer, []byte(layer))},
	})
	return put(ctx, l, imgspecv1.MediaTypeImageManifest, m)
}

// exampleDir is a fresh directory for a layout.
func exampleDir() string {
	dir, err := os.MkdirTemp("", "layout-example-")
	if err != nil {
		log.Fatal(err)
	}
	return filepath.Join(dir, "images")
}

// Writing an image into a new layout and tagging it, in one index
// transaction, under a write lease so that a concurrent gc keeps its blobs.
func ExampleLayout_Update() {
	ctx := context.Background()
	dir := exampleDir()
	defer os.RemoveAll(filepath.Dir(dir))
	l, err := layout.Create(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	lease, err := l.AcquireWriteLease(ctx)
	if err != nil {
		log.Fatal(err)
	}
	img := putImage(ctx, l, "hello")
	err = l.Update(ctx, func(tx *layout.IndexTx) error {
		if err := tx.Tag(img, "app:v1"); err != nil {
			return err
		}
		return tx.Tag(img, "app:latest")
	})
	lease.Release()
	if err != nil {
		log.Fatal(err)
	}
	idx, _ := l.Index(ctx)
	for _, e := range idx.Manifests {
		fmt.Println(e.Annotations[imgspecv1.AnnotationRefName], e.Digest == img.Digest)
	}
	// Output:
	// app:v1 true
	// app:latest true
}

// Opening a layout for reading (it needs no write access), listing what it
// holds and resolving a name, a position and a digest to a manifest.
func ExampleOpen() {
	ctx := context.Background()
	dir := exampleDir()
	defer os.RemoveAll(filepath.Dir(dir))
	w, _ := layout.Create(dir)
	a, b := putImage(ctx, w, "a"), putImage(ctx, w, "b")
	_ = w.Update(ctx, func(tx *layout.IndexTx) error {
		_ = tx.Tag(a, "a")
		return tx.Tag(b, "b")
	})
	w.Close()

	l, err := layout.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	idx, err := l.Index(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(idx.Manifests), "entries")
	for _, s := range []string{"b", "@0", "@" + b.Digest.String()} {
		sel, err := layout.ParseSelector(s)
		if err != nil {
			log.Fatal(err)
		}
		d, err := l.Resolve(ctx, idx, sel)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(s == "@0" && d.Digest == a.Digest || s != "@0" && d.Digest == b.Digest)
	}
	_, err = l.Resolve(ctx, idx, layout.Selector{})
	fmt.Println(err != nil) // two images: the zero selector is ambiguous
	// Output:
	// 2 entries
	// true
	// true
	// true
	// true
}

// Attaching an SBOM to an image as a referrer, and listing the image's
// referrers by artifact type.
func ExampleLayout_Attach() {
	ctx := context.Background()
	dir := exampleDir()
	defer os.RemoveAll(filepath.Dir(dir))
	l, _ := layout.Create(dir)
	defer l.Close()
	img := putImage(ctx, l, "app")
	_ = l.Update(ctx, func(tx *layout.IndexTx) error { return tx.Tag(img, "app") })

	sbom := put(ctx, l, "application/spdx+json", []byte(`{"spdxVersion":"SPDX-2.3"}`))
	if _, err := l.Attach(ctx, img, layout.Artifact{ArtifactType: "application/spdx+json", Layers: []imgspecv1.Descriptor{sbom}}); err != nil {
		log.Fatal(err)
	}
	refs, err := l.Referrers(ctx, img.Digest, "application/spdx+json")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(refs), refs[0].ArtifactType)
	none, _ := l.Referrers(ctx, img.Digest, "application/vnd.dev.cosign.artifact.sig.v1+json")
	fmt.Println(len(none))
	// Output:
	// 1 application/spdx+json
	// 0
}

// Looking an image up with its referrers from one read of index.json, as
// an ImageSource does: under a read lease, so that gc keeps what the read
// named; an SBOM attached afterwards is the next lookup's.
func ExampleLayout_LookupImage() {
	ctx := context.Background()
	dir := exampleDir()
	defer os.RemoveAll(filepath.Dir(dir))
	l, _ := layout.Create(dir)
	defer l.Close()
	img := putImage(ctx, l, "app")
	_ = l.Update(ctx, func(tx *layout.IndexTx) error { return tx.Tag(img, "app") })
	sbom := put(ctx, l, "application/spdx+json", []byte(`{"spdxVersion":"SPDX-2.3"}`))
	_, _ = l.Attach(ctx, img, layout.Artifact{ArtifactType: "application/spdx+json", Layers: []imgspecv1.Descriptor{sbom}})

	lease, err := l.AcquireReadLease(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer lease.Release()
	sel, _ := layout.ParseSelector("app")
	im, err := l.LookupImage(ctx, sel)
	if err != nil {
		log.Fatal(err)
	}
	_, _ = l.Attach(ctx, img, layout.Artifact{ArtifactType: "application/spdx+json", Layers: []imgspecv1.Descriptor{put(ctx, l, "application/spdx+json", []byte(`{}`))}})
	then, _ := im.Referrers(ctx, im.Descriptor.Digest, "")
	now, _ := l.Referrers(ctx, im.Descriptor.Digest, "")
	fmt.Println(im.Descriptor.Digest == img.Digest, len(then), len(now))
	// Output:
	// true 1 2
}

// Deleting an image: its entry and its referrers leave index.json first,
// then the blobs nothing else reaches are reclaimed; gc finds nothing left.
func ExampleLayout_Delete() {
	ctx := context.Background()
	dir := exampleDir()
	defer os.RemoveAll(filepath.Dir(dir))
	l, _ := layout.Create(dir)
	defer l.Close()
	img := putImage(ctx, l, "old")
	_ = l.Update(ctx, func(tx *layout.IndexTx) error { return tx.Tag(img, "old") })

	sel, _ := layout.ParseSelector("old")
	res, err := l.Delete(ctx, sel)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(res.Entries), "entry,", res.Reclaimed.Files, "blobs reclaimed")
	gc, err := l.GC(ctx, layout.DryRun())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(gc.Files, "left for gc")
	// Output:
	// 1 entry, 3 blobs reclaimed
	// 0 left for gc
}

// Collecting garbage after a tag move, and verifying the layout: gc waits
// for in-flight writers, so it is safe beside other processes.
func ExampleLayout_GC() {
	ctx := context.Background()
	dir := exampleDir()
	defer os.RemoveAll(filepath.Dir(dir))
	l, _ := layout.Create(dir)
	defer l.Close()
	v1, v2 := putImage(ctx, l, "v1"), putImage(ctx, l, "v2")
	_ = l.Update(ctx, func(tx *layout.IndexTx) error { return tx.Tag(v1, "app") })
	_ = l.Update(ctx, func(tx *layout.IndexTx) error { return tx.Tag(v2, "app") }) // v1 is garbage now

	res, err := l.GC(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(res.Blobs), "blobs removed") // v1's manifest and layer; the config is shared
	report, err := l.Verify(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(report.Problems), "problems,", report.Blobs, "blobs verified")
	// Output:
	// 2 blobs removed
	// 0 problems, 3 blobs verified
}
