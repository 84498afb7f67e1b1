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

// Give an image the layout already holds one more name, with the media
// type, size and platform its first entry records, as sync names the
// other tags of an image it has copied once.
func ExampleIndexTx_Holder() {
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
	defer lease.Release()
	img := putImage(ctx, l, "hello")
	if err := l.Update(ctx, func(tx *layout.IndexTx) error { return tx.Tag(img, "app:v1") }); err != nil {
		log.Fatal(err)
	}
	err = l.Update(ctx, func(tx *layout.IndexTx) error {
		held, ok := tx.Holder(img.Digest)
		if !ok {
			return fmt.Errorf("%s is not in the layout", img.Digest)
		}
		return tx.Tag(imgspecv1.Descriptor{MediaType: held.MediaType, Digest: held.Digest, Size: held.Size, Platform: held.Platform}, "app:stable")
	})
	if err != nil {
		log.Fatal(err)
	}
	idx, _ := l.Index(ctx)
	for _, e := range idx.Manifests {
		fmt.Println(e.Annotations[imgspecv1.AnnotationRefName], e.Digest == img.Digest)
	}
	// Output:
	// app:v1 true
	// app:stable true
}
