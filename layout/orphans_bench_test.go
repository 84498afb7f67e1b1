package layout

import (
	"context"
	"strconv"
	"testing"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// BenchmarkTagMoveWithReferrers: the commit of a sync that updates a
// signed tag in a large index (benchTags() images, one in ten signed):
// the tag moves to a new image and gets its signature, and the old image's
// signature leaves in the same transaction, checked against the
// layout-wide liveness.
func BenchmarkTagMoveWithReferrers(b *testing.B) {
	ctx := context.Background()
	l, _ := benchTagged(b)
	err := l.updateRaw(ctx, func(idx *imgspecv1.Index) error {
		for i := range idx.Manifests {
			idx.Manifests[i].Digest = digest.FromString("image " + strconv.Itoa(i))
			if i%10 == 0 {
				idx.Manifests = append(idx.Manifests, imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest,
					Digest: digest.FromString("sig " + strconv.Itoa(i)), Size: 100,
					Annotations: map[string]string{AnnotationSubject: idx.Manifests[i].Digest.String()}})
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	imgs := []imgspecv1.Descriptor{putTestManifest(b, l, 1), putTestManifest(b, l, 2)}
	var sigs []imgspecv1.Descriptor
	for _, img := range imgs {
		s, err := l.putSignatureArtifact(ctx, img, []byte("sig of "+img.Digest.String()))
		if err != nil {
			b.Fatal(err)
		}
		sigs = append(sigs, s)
	}
	n := 0
	for b.Loop() {
		k := n % 2
		n++
		err := l.Update(ctx, func(tx *IndexTx) error {
			if err := tx.Tag(imgs[k], "app"); err != nil {
				return err
			}
			return tx.AddReferrers(imgs[k].Digest, sigs[k])
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	idx, err := l.Index(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range idx.Manifests {
		if e.Digest == sigs[n%2].Digest {
			b.Fatalf("the signature of the image app moved away from is still there")
		}
	}
}
