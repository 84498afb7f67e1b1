// Package source serves an image from an OCI image layout to containers/image:
// it resolves a layout.Selector in index.json and verifies every manifest and
// blob it hands out against its descriptor.
package source

import (
	"context"
	"fmt"
	"io"

	"github.com/ocilayout/ocilayout/layout"
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/types"
)

// Source is an ImageSource over one entry of a layout.
type Source struct {
	ref    types.ImageReference
	layout *layout.Layout
	desc   imgspecv1.Descriptor // the resolved top-level manifest or index
	// hashBlobs says whether GetBlob hashes what it serves. On by default;
	// see SetBlobHashing for when turning it off is sound.
	hashBlobs bool
}

// New opens the layout at dir and returns an ImageSource for the entry sel
// selects. ref is what Reference() returns. index.json is read once here:
// the source serves the image as it was when opened, even if a writer moves
// the tag meanwhile.
func New(ctx context.Context, sys *types.SystemContext, ref types.ImageReference, dir string, sel layout.Selector) (types.ImageSource, error) {
	var opts []layout.Option
	if sys != nil && sys.OCISharedBlobDirPath != "" {
		opts = append(opts, layout.WithSharedBlobDir(sys.OCISharedBlobDirPath))
	}
	l, err := layout.Open(dir, opts...)
	if err != nil {
		return nil, err
	}
	idx, err := l.Index(ctx)
	if err != nil {
		l.Close()
		return nil, err
	}
	desc, err := l.Resolve(ctx, idx, sel)
	if err != nil {
		l.Close()
		return nil, err
	}
	recordLocations(ctx, sys, l, desc)
	return &Source{ref: ref, layout: l, desc: desc, hashBlobs: true}, nil
}

// SetBlobHashing turns the digest check of GetBlob on or off (size is
// always checked). copy.Image hashes every blob it reads from a source and
// refuses a mismatch, so a tool that only feeds copy.Image may turn it off
// to hash each byte once instead of twice; library readers should leave it on.
func (s *Source) SetBlobHashing(on bool) { s.hashBlobs = on }

// Reference returns the reference used to set up this source, as the user
// gave it.
func (s *Source) Reference() types.ImageReference { return s.ref }

// Close releases the layout.
func (s *Source) Close() error { return s.layout.Close() }

// Layout is the layout the source reads, for tools that act on the
// resolved image in place (ocilayout sign stores its signature there).
func (s *Source) Layout() *layout.Layout { return s.layout }

// Descriptor is the resolved top-level entry.
func (s *Source) Descriptor() imgspecv1.Descriptor { return s.desc }

// GetManifest returns the selected manifest, or the instance instanceDigest
// of the selected index, with its MIME type. The bytes are verified against
// the digest (and, for the top level, the size) that names them.
func (s *Source) GetManifest(ctx context.Context, instanceDigest *digest.Digest) ([]byte, string, error) {
	desc := s.desc
	if instanceDigest != nil {
		desc = imgspecv1.Descriptor{Digest: *instanceDigest, Size: -1}
	}
	data, err := s.layout.ReadBlob(ctx, desc.Digest, desc.Size)
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
// EOF if the content does not match info's digest, or the size on disk
// differs from info.Size, naming the digest.
func (s *Source) GetBlob(ctx context.Context, info types.BlobInfo, _ types.BlobInfoCache) (io.ReadCloser, int64, error) {
	f, err := s.layout.OpenBlob(ctx, info.Digest)
	if err != nil {
		return nil, -1, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, -1, fmt.Errorf("stat of blob %s in %s: %w", info.Digest, s.layout.Dir(), err)
	}
	if info.Size >= 0 && fi.Size() != info.Size {
		f.Close()
		return nil, -1, &layout.IntegrityError{Digest: info.Digest, Dir: s.layout.Dir(), Problem: fmt.Sprintf("size %d, descriptor says %d", fi.Size(), info.Size)}
	}
	return layout.VerifyingReader(f, info.Digest, fi.Size(), s.hashBlobs, s.layout.Dir()), fi.Size(), nil
}

// HasThreadSafeGetBlob is true: each GetBlob opens its own file, so
// copy.Image may read layers in parallel (the built-in oci: says false).
func (s *Source) HasThreadSafeGetBlob() bool { return true }

// LayerInfosForCopy returns nil: the manifest's layer list is accurate.
func (s *Source) LayerInfosForCopy(context.Context, *digest.Digest) ([]types.BlobInfo, error) {
	return nil, nil
}
