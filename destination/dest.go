// Package destination stores an image into an OCI image layout for
// containers/image: blobs are written atomically as they arrive, and Commit
// updates index.json under the layout's lock.
package destination

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"

	"github.com/ocilayout/ocilayout/internal/imageopts"
	"github.com/ocilayout/ocilayout/layout"
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/types"
)

// imageDestination is an ImageDestination into one layout.
type imageDestination struct {
	ref      types.ImageReference
	layout   *layout.Layout
	name     string
	lease    *layout.Lease
	compress types.LayerCompression
	opts     imageopts.Options // SizeOnly: puts of known digest are not hashed; TrustLinks

	mu       sync.Mutex           // guards the fields below
	top      imgspecv1.Descriptor // set by PutManifest(nil)
	topSet   bool
	platform *imgspecv1.Platform
	sigs     pendingSignatures // see signatures.go
}

// New opens (creating if needed) the layout at dir and returns an
// ImageDestination that, on Commit, tags the image name ("" for untagged),
// tuned by opts.
// ref is what Reference() returns. The destination holds a write lease on
// the layout until Close, so GC never reclaims blobs it put or reused
// before its Commit.
func New(ctx context.Context, sys *types.SystemContext, ref types.ImageReference, dir string, name string, opts imageopts.Options) (types.ImageDestination, error) {
	l, err := layout.Create(dir, opts.LayoutOptions(sys)...)
	if err != nil {
		return nil, err
	}
	lease, err := l.AcquireWriteLease(ctx)
	if err != nil {
		l.Close()
		return nil, err
	}
	return &imageDestination{ref: ref, layout: l, name: name, lease: lease, compress: layerCompression(sys), opts: opts}, nil
}

// layerCompression is what DesiredLayerCompression reports: PreserveOriginal
// unless sys asks for compression (a CompressionFormat, or DirForceCompress,
// skopeo's --dest-compress). Unlike oci:, which gzips every uncompressed
// layer it is given, a layout stores the image it was given: compressing
// unasked changes the manifest digest and orphans the image's signatures
// and referrers, and costs a compressor per layer in flight (123 MiB peak
// RSS against 32 MiB measured in issue 15).
func layerCompression(sys *types.SystemContext) types.LayerCompression {
	if sys != nil && (sys.CompressionFormat != nil || sys.DirForceCompress) {
		return types.Compress
	}
	return types.PreserveOriginal
}

// Reference returns the reference used to set up this destination.
func (d *imageDestination) Reference() types.ImageReference { return d.ref }

// Close releases the write lease and the layout. Blobs put without a
// Commit stay until GC reclaims them.
func (d *imageDestination) Close() error {
	d.lease.Release()
	return d.layout.Close()
}

// SupportedManifestMIMETypes lists OCI manifests and indexes: copy.Image
// converts Docker schema2 to them, which keeps the layout readable by every
// OCI tool.
func (d *imageDestination) SupportedManifestMIMETypes() []string {
	return []string{imgspecv1.MediaTypeImageManifest, imgspecv1.MediaTypeImageIndex}
}

// DesiredLayerCompression is PreserveOriginal unless the SystemContext
// asks for compression (see layerCompression).
func (d *imageDestination) DesiredLayerCompression() types.LayerCompression { return d.compress }

// AcceptsForeignLayerURLs is true: a layout may reference non-distributable
// layers by URL, as the OCI spec allows.
func (d *imageDestination) AcceptsForeignLayerURLs() bool { return true }

// MustMatchRuntimeOS is false: a layout stores images of any platform.
func (d *imageDestination) MustMatchRuntimeOS() bool { return false }

// IgnoresEmbeddedDockerReference is true: OCI manifests embed no Docker
// reference, so there is nothing to rewrite.
func (d *imageDestination) IgnoresEmbeddedDockerReference() bool { return true }

// HasThreadSafePutBlob is true: each PutBlob writes its own temp file.
func (d *imageDestination) HasThreadSafePutBlob() bool { return true }

// PutBlob writes the stream as a blob. If inputInfo.Digest is given and the
// stream is read to the end, the content must match it; on any error
// (including one from stream.Read) nothing is stored.
func (d *imageDestination) PutBlob(ctx context.Context, stream io.Reader, inputInfo types.BlobInfo, _ types.BlobInfoCache, _ bool) (types.BlobInfo, error) {
	var opts []layout.BlobOption
	if inputInfo.Digest != "" {
		// copy.Image sends a stream of known digest through its own
		// digest check, which fails the read before EOF on a mismatch.
		opts = d.opts.Blob()
	}
	dg, n, err := d.layout.PutBlob(ctx, stream, inputInfo.Digest, inputInfo.Size, opts...)
	if err != nil {
		return types.BlobInfo{}, err
	}
	return types.BlobInfo{Digest: dg, Size: n}, nil
}

// TryReusingBlob reports whether the blob is already in the layout with
// the expected size and content (intactForReuse), in which case
// copy.Image does not send it again, or can be linked from another layout
// on the same file system that is open as a source (reuse.go), in which
// case it is linked now.
func (d *imageDestination) TryReusingBlob(ctx context.Context, info types.BlobInfo, _ types.BlobInfoCache, _ bool) (bool, types.BlobInfo, error) {
	if info.Digest == "" {
		return false, types.BlobInfo{}, errors.New("can not check for a blob with unknown digest")
	}
	size, err := d.statBlob(ctx, info.Digest)
	if errors.Is(err, fs.ErrNotExist) {
		ok, size, err := d.linkFromOpenSources(ctx, info)
		if !ok || err != nil {
			return false, types.BlobInfo{}, err
		}
		return true, types.BlobInfo{Digest: info.Digest, Size: size}, nil
	}
	if err != nil {
		return false, types.BlobInfo{}, err
	}
	if info.Size >= 0 && size != info.Size {
		return false, types.BlobInfo{}, nil
	}
	if ok, err := d.intactForReuse(ctx, info.Digest, size); !ok || err != nil {
		return false, types.BlobInfo{}, err
	}
	return true, types.BlobInfo{Digest: info.Digest, Size: size}, nil
}

// PutManifest stores the manifest as a blob. The top-level manifest
// (instanceDigest nil) is recorded for Commit; index.json is not touched
// until then, so a crash before Commit leaves no entry whose blobs are
// missing.
func (d *imageDestination) PutManifest(ctx context.Context, m []byte, instanceDigest *digest.Digest) error {
	mt := manifest.GuessMIMEType(m)
	if mt != imgspecv1.MediaTypeImageManifest && mt != imgspecv1.MediaTypeImageIndex {
		return types.ManifestTypeRejectedError{Err: fmt.Errorf("oci-layout stores OCI manifests and indexes, not %q", mt)}
	}
	want := digest.FromBytes(m)
	if instanceDigest != nil {
		if err := instanceDigest.Validate(); err != nil {
			return fmt.Errorf("invalid instance digest %q: %w", string(*instanceDigest), err)
		}
		want = instanceDigest.Algorithm().FromBytes(m)
		if want != *instanceDigest {
			return fmt.Errorf("manifest for instance %s has digest %s", *instanceDigest, want)
		}
	}
	if _, _, err := d.layout.PutBlob(ctx, bytes.NewReader(m), want, int64(len(m))); err != nil {
		return err
	}
	if instanceDigest != nil {
		return nil
	}
	desc := imgspecv1.Descriptor{MediaType: mt, Digest: want, Size: int64(len(m))}
	var platform *imgspecv1.Platform
	if mt == imgspecv1.MediaTypeImageManifest {
		platform = d.platformOf(ctx, m)
	}
	d.mu.Lock()
	d.top, d.topSet, d.platform = desc, true, platform
	d.mu.Unlock()
	return nil
}

// platformOf reads the config of an image manifest to record its platform
// in index.json, so that list shows it without opening manifests. Best
// effort: an artifact or unreadable config simply has no platform.
func (d *imageDestination) platformOf(ctx context.Context, m []byte) *imgspecv1.Platform {
	var man imgspecv1.Manifest
	if json.Unmarshal(m, &man) != nil || man.Config.MediaType != imgspecv1.MediaTypeImageConfig {
		return nil
	}
	data, err := d.layout.ReadBlob(ctx, man.Config.Digest, man.Config.Size)
	if err != nil {
		return nil
	}
	var cfg imgspecv1.Image
	if json.Unmarshal(data, &cfg) != nil || cfg.OS == "" {
		return nil
	}
	return &imgspecv1.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant, OSVersion: cfg.OSVersion}
}

// Commit records the image under the destination's name, and the
// signatures PutSignatures stored, in one index transaction (under the
// layout's lock, after re-reading index.json, so that concurrent writers
// into one layout keep each other's tags): the image entry first, so that
// a tag move drops the old image's referrers before the new ones are added.
func (d *imageDestination) Commit(ctx context.Context, _ types.UnparsedImage) error {
	d.mu.Lock()
	desc, ok := d.top, d.topSet
	desc.Platform = d.platform
	d.mu.Unlock()
	if !ok {
		return errors.New("commit without a manifest")
	}
	change := func(tx *layout.IndexTx) error {
		if err := tx.Tag(desc, d.name); err != nil {
			return err
		}
		return d.applyPendingSignatures(tx)
	}
	if d.opts.Batch != nil {
		// The batch holds a write lease of its own from before this
		// destination put its first blob until it commits, so gc keeps
		// these blobs after Close releases ours.
		d.opts.Batch.Defer(change)
		return nil
	}
	return d.layout.Update(ctx, change)
}

// statBlob returns the size of blob d in the layout; the error wraps
// fs.ErrNotExist when it is absent.
func (d *imageDestination) statBlob(ctx context.Context, dg digest.Digest) (int64, error) {
	f, err := d.layout.OpenBlob(ctx, dg)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("stat of blob %s: %w", dg, err)
	}
	return fi.Size(), nil
}
