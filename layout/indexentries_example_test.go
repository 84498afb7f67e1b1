package layout_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/ocilayout/ocilayout/layout"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Indexing every name of a layout, as a registry serving it does, without
// decoding index.json's descriptors whole.
func ExampleLayout_IndexEntries() {
	ctx := context.Background()
	dir := exampleDir()
	defer os.RemoveAll(filepath.Dir(dir))
	l, err := layout.Create(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	img := putImage(ctx, l, "layer")
	if err := l.Update(ctx, func(tx *layout.IndexTx) error {
		if err := tx.Tag(img, "app:v1"); err != nil {
			return err
		}
		return tx.Tag(img, "app:latest")
	}); err != nil {
		log.Fatal(err)
	}
	byName := map[string]imgspecv1.Descriptor{}
	err = l.IndexEntries(ctx, func(d imgspecv1.Descriptor, name, subject string) {
		if name != "" && subject == "" {
			byName[name] = d
		}
	})
	if err != nil {
		log.Fatal(err)
	}
	d := byName["app:latest"]
	fmt.Println(len(byName), d.MediaType, d.Digest == img.Digest, d.Size == img.Size)
	// Output:
	// 2 application/vnd.oci.image.manifest.v1+json true true
}

// Listing every name of a layout with the digest it holds and one
// annotation, as sync does: of each entry's annotations only those asked
// for are given.
func ExampleLayout_IndexEntries_annotations() {
	ctx := context.Background()
	dir := exampleDir()
	defer os.RemoveAll(filepath.Dir(dir))
	l, err := layout.Create(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	v1, v2 := putImage(ctx, l, "one"), putImage(ctx, l, "two")
	v2.Annotations = map[string]string{"org.example.origin": "upstream", "org.example.other": "x"}
	if err := l.Update(ctx, func(tx *layout.IndexTx) error {
		if err := tx.Tag(v1, "app:v1"); err != nil {
			return err
		}
		return tx.Tag(v2, "app:v2")
	}); err != nil {
		log.Fatal(err)
	}
	err = l.IndexEntries(ctx, func(d imgspecv1.Descriptor, name, _ string) {
		fmt.Printf("%s %v %v\n", name, d.Digest == v1.Digest, d.Annotations)
	}, "org.example.origin")
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// app:v1 true map[]
	// app:v2 false map[org.example.origin:upstream]
}

// Printing every entry whole, platform included, as list --json does,
// without holding the decoded index.
func ExampleLayout_EachEntry() {
	ctx := context.Background()
	dir := exampleDir()
	defer os.RemoveAll(filepath.Dir(dir))
	l, err := layout.Create(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	img := putImage(ctx, l, "layer")
	img.Platform = &imgspecv1.Platform{Architecture: "arm64", OS: "linux"}
	if err := l.Update(ctx, func(tx *layout.IndexTx) error { return tx.Tag(img, "app:v1") }); err != nil {
		log.Fatal(err)
	}
	err = l.EachEntry(ctx, func(d imgspecv1.Descriptor) error {
		fmt.Println(d.Annotations[imgspecv1.AnnotationRefName], d.Platform.OS+"/"+d.Platform.Architecture)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// app:v1 linux/arm64
}
