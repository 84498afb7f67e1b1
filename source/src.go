// Package source serves an image from an OCI image layout to containers/image:
// it resolves a layout.Selector in index.json and verifies every manifest and
// blob it hands out against its descriptor.
package source

import (
	"context"
	"io"
	"sync"

	"github.com/ocilayout/ocilayout/internal/imageopts"
	"github.com/ocilayout/ocilayout/internal/linkcache"
	"github.com/ocilayout/ocilayout/layout"
	"github.com/ocilayout/ocilayout/simplesign"
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/types"
)

// imageSource is an ImageSource over one entry of a layout.
type imageSource struct {
	ref types.ImageReference
	sys *types.SystemContext
	// image is the resolved top-level manifest or index (its Descriptor)
	// and its referrers as index.json held them at New, in its layout
	// (image.Layout, which the source reads blobs from).
	image *layout.Image
	lease *layout.Lease // held until Close: gc keeps what image reaches
	opts  imageopts.Options

	mu    sync.Mutex                // guards links
	links []*linkcache.Registration // blob locations offered to destinations until Close
}

// New opens the layout at dir and returns an ImageSource for the entry sel
// selects, tuned by opts. ref is what Reference() returns. index.json is
// read once here: the source serves the image as it was when opened, even
// if a writer moves the tag meanwhile.
func New(ctx context.Context, sys *types.SystemContext, ref types.ImageReference, dir string, sel layout.Selector, opts imageopts.Options) (types.ImageSource, error) {
	l, err := layout.Open(dir, opts.LayoutOptions(sys)...)
	if err != nil {
		return nil, err
	}
	// The image is the one index.json names now, until Close, whatever
	// tag moves and gc runs happen meanwhile: the read lease, taken
	// before index.json is read, makes gc wait for Close.
	lease, err := l.AcquireReadLease(ctx)
	if err != nil {
		l.Close()
		return nil, err
	}
	// One read of index.json gives the image and its signatures' entries
	// (layout.Image): the source serves both as they were here.
	im, err := l.LookupImage(ctx, sel)
	if err != nil {
		lease.Release()
		l.Close()
		return nil, err
	}
	return &imageSource{ref: ref, sys: sys, image: im, lease: lease, opts: opts}, nil
}

// Reference returns the reference used to set up this source, as the user
// gave it.
func (s *imageSource) Reference() types.ImageReference { return s.ref }

// Close withdraws the blob locations this source offered for linking,
// gives back its read lease and releases the layout.
func (s *imageSource) Close() error {
	s.mu.Lock()
	for _, r := range s.links {
		r.Release()
	}
	s.links = nil
	s.mu.Unlock()
	s.lease.Release()
	return s.image.Layout.Close()
}

// GetManifest returns the selected manifest, or the instance instanceDigest
// of the selected index, with its MIME type. The bytes are verified against
// the digest (and, for the top level, the size) that names them.
func (s *imageSource) GetManifest(ctx context.Context, instanceDigest *digest.Digest) ([]byte, string, error) {
	desc := s.image.Descriptor
	if instanceDigest != nil {
		desc = imgspecv1.Descriptor{Digest: *instanceDigest, Size: -1}
	}
	data, err := s.image.Layout.ReadBlob(ctx, desc.Digest, desc.Size)
	if err != nil {
		return nil, "", err
	}
	mt := desc.MediaType
	if instanceDigest != nil || mt == "" {
		mt = manifest.GuessMIMEType(data)
	}
	return data, mt, nil
}

// GetBlob returns a stream for the blob and its size. The stream fails at
// EOF if the content does not match info's digest (unless the reference
// was tuned to check sizes only), or the size on disk differs from
// info.Size, with a *layout.IntegrityError naming the digest.
func (s *imageSource) GetBlob(ctx context.Context, info types.BlobInfo, _ types.BlobInfoCache) (io.ReadCloser, int64, error) {
	return s.image.Layout.BlobReader(ctx, info.Digest, info.Size, s.opts.Blob()...)
}

// HasThreadSafeGetBlob is true: each GetBlob opens its own file, so
// copy.Image may read layers in parallel (the built-in oci: says false).
func (s *imageSource) HasThreadSafeGetBlob() bool { return true }

// LayerInfosForCopy returns nil: the manifest's layer list is accurate.
// copy.Image calls it, and only a copy does, just before it copies the
// layers of a manifest, so this is where the source offers its large
// layers (internal/linkcache), until Close, for a destination layout on
// the same file system to link them.
func (s *imageSource) LayerInfosForCopy(ctx context.Context, instanceDigest *digest.Digest) ([]types.BlobInfo, error) {
	data, mt, err := s.GetManifest(ctx, instanceDigest)
	if err != nil {
		return nil, err
	}
	if m, err := manifest.FromBlob(data, mt); err == nil {
		if dir, dev, err := s.image.Layout.BlobLocation(); err == nil {
			var blobs []types.BlobInfo
			for _, li := range m.LayerInfos() {
				blobs = append(blobs, li.BlobInfo)
			}
			r := linkcache.Record(dir, dev, blobs)
			s.mu.Lock()
			s.links = append(s.links, r)
			s.mu.Unlock()
		}
	}
	return nil, nil
}

// GetSignatures returns the simple-signing signatures stored for the
// selected manifest, or for instanceDigest (an instance of the selected
// index), in the order they were written. index.json is read again here,
// not at open: signatures added since (ocilayout sign) are seen, and a
// signature is returned only if its artifact and bytes verify against
// their digests and the artifact's subject is this manifest.
func (s *imageSource) GetSignatures(ctx context.Context, instanceDigest *digest.Digest) ([][]byte, error) {
	subject := s.image.Descriptor.Digest
	if instanceDigest != nil {
		subject = *instanceDigest
	}
	return simplesign.Signatures(ctx, s.image, subject)
}
