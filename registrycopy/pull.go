package registrycopy

import (
	"context"
	"fmt"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/image"
	"go.podman.io/image/v5/pkg/blobinfocache/memory"
	"go.podman.io/image/v5/types"
)

// pull copies a registry image into a layout: the source is the
// containers/image docker source copy.Image would open (registries.conf
// mirrors, credentials, certificates, retries), the destination the
// layout's own ImageDestination, so what lands in the layout is written
// as copy.Image would write it: every blob through layout.PutBlob, the
// manifest, then the index entry in one Layout.Update at Commit, under
// the destination's write lease.
//
// Each blob is streamed from its GET into PutBlob, r.parallel at once,
// hashed once on the way (PutBlob is given the size but no digest, so it
// hashes whatever the destination's options; a blob whose content hashes
// to another digest fails the copy, and index.json never names the
// image: what was stored is garbage for gc).
func (r *route) pull(ctx context.Context, dest, src types.ImageReference) ([]byte, error) {
	rawSrc, m, mt, err := r.openSource(ctx, src)
	if err != nil {
		return nil, err
	}
	defer rawSrc.Close()
	// Into a layout copy.Image keeps every layer as it is (the
	// destination's DesiredLayerCompression is PreserveOriginal unless
	// compression is asked for, which checkOptions refused).
	man, err := imageManifest(m, mt, func(string) bool { return true })
	if err != nil {
		return nil, err
	}
	if err := r.admit(ctx, rawSrc); err != nil {
		return nil, err
	}
	d, err := dest.NewImageDestination(ctx, r.o.DestinationCtx)
	if err != nil {
		return nil, fmt.Errorf("initializing destination %s: %w", transportName(dest), err)
	}
	defer d.Close()
	fmt.Fprintf(r.report, "Copying directly from the registry (nothing to convert)\n")
	cache := memory.New()
	config := man.Config.Digest
	err = r.eachBlob(ctx, blobs(man), func(ctx context.Context, b imgspecv1.Descriptor, done func()) error {
		if err := r.pullBlob(ctx, rawSrc, d, cache, b, b.Digest == config, done); err != nil || b.Digest != config {
			return err
		}
		// The manifest is the image's as it was fetched (nothing is
		// converted), so it is stored as soon as the config it reads
		// its platform from is in, while the layers still arrive: one
		// blob write (and its fsyncs) less after the last layer.
		fmt.Fprintf(r.report, "Writing manifest to image destination\n")
		if err := d.PutManifest(ctx, m, nil); err != nil {
			return fmt.Errorf("writing manifest: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := d.Commit(ctx, image.UnparsedInstance(rawSrc, nil)); err != nil {
		return nil, fmt.Errorf("committing the image to %s: %w", transportName(dest), err)
	}
	return m, nil
}

// pullBlob puts blob b into d unless d already holds it intact, and
// calls done once its last byte has arrived.
func (r *route) pullBlob(ctx context.Context, src types.ImageSource, d types.ImageDestination, cache types.BlobInfoCache, b imgspecv1.Descriptor, isConfig bool, done func()) error {
	what := blobKind(isConfig)
	info := types.BlobInfo{Digest: b.Digest, Size: b.Size, MediaType: b.MediaType}
	reused, _, err := d.TryReusingBlob(ctx, info, cache, false)
	if err != nil {
		return fmt.Errorf("trying to reuse blob %s: %w", b.Digest, err)
	}
	if reused {
		fmt.Fprintf(r.report, "Copying %s %s skipped: already exists\n", what, b.Digest)
		return nil
	}
	fmt.Fprintf(r.report, "Copying %s %s\n", what, b.Digest)
	rc, _, err := src.GetBlob(ctx, info, cache)
	if err != nil {
		return fmt.Errorf("reading blob %s: %w", b.Digest, err)
	}
	defer rc.Close()
	got, err := d.PutBlob(ctx, atEOF{r: rc, done: done}, types.BlobInfo{Size: b.Size, MediaType: b.MediaType}, cache, isConfig)
	if err != nil {
		return fmt.Errorf("writing blob %s: %w", b.Digest, err)
	}
	if got.Digest != b.Digest {
		return fmt.Errorf("reading blob %s: the registry sent content with digest %s", b.Digest, got.Digest)
	}
	return nil
}
