package dockerstorage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/types"
)

// containerdSource serves an image of the containerd store as it was
// pulled or loaded: its own index or manifest, and its blobs byte for byte
// (compressed layers stay compressed), so digests are the original ones.
type containerdSource struct {
	ref   storageReference
	store *store
	img   *containerdImage
	top   []byte // the target manifest or index, verified
}

func newContainerdSource(ctx context.Context, ref storageReference, s *store, img *containerdImage) (types.ImageSource, error) {
	top, err := s.ctrd.readBlob(img.target)
	if err != nil {
		return nil, fmt.Errorf("image %s (%s) in %s: %w", img.name, img.target.Digest, s.dir, err)
	}
	return &containerdSource{ref: ref, store: s, img: img, top: top}, nil
}

// Reference returns the reference used to set up this source.
func (src *containerdSource) Reference() types.ImageReference { return src.ref }

// Close releases the store's root directory.
func (src *containerdSource) Close() error { return src.store.Close() }

// GetManifest returns the image's manifest or index, or with
// instanceDigest one manifest of its index, read from the content store
// and checked against its digest. An instance whose platform was never
// pulled is an error naming it.
func (src *containerdSource) GetManifest(ctx context.Context, instanceDigest *digest.Digest) ([]byte, string, error) {
	if instanceDigest == nil {
		return src.top, src.img.target.MediaType, nil
	}
	data, err := src.store.ctrd.readBlob(imgspecv1.Descriptor{Digest: *instanceDigest, Size: -1})
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, "", fmt.Errorf("image %s in %s: instance %s is not in the content store (was its platform pulled?): %w", src.img.target.Digest, src.store.dir, *instanceDigest, err)
		}
		return nil, "", fmt.Errorf("image %s in %s: %w", src.img.target.Digest, src.store.dir, err)
	}
	return data, manifest.GuessMIMEType(data), nil
}

// GetBlob streams a blob from the content store with its size; the
// stream fails at its end unless it hashed to its digest.
func (src *containerdSource) GetBlob(ctx context.Context, info types.BlobInfo, cache types.BlobInfoCache) (io.ReadCloser, int64, error) {
	if err := info.Digest.Validate(); err != nil {
		return nil, 0, err
	}
	p := src.store.ctrd.blobPath(info.Digest)
	f, err := src.store.root.Open(p)
	if err != nil {
		return nil, 0, fmt.Errorf("image %s in %s: blob %s: %w", src.img.target.Digest, src.store.dir, info.Digest, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return &digestReader{f: f, want: info.Digest, h: info.Digest.Algorithm().Hash(), path: p}, fi.Size(), nil
}

// digestReader checks a blob's digest at EOF.
type digestReader struct {
	f    io.ReadCloser
	want digest.Digest
	h    hash.Hash
	path string
}

func (r *digestReader) Read(p []byte) (int, error) {
	n, err := r.f.Read(p)
	r.h.Write(p[:n])
	if err == io.EOF {
		if got := digest.NewDigest(r.want.Algorithm(), r.h); got != r.want {
			return n, fmt.Errorf("blob %s hashes to %s: %s is damaged", r.want, got, r.path)
		}
	}
	return n, err
}

func (r *digestReader) Close() error { return r.f.Close() }

// HasThreadSafeGetBlob is true: each GetBlob opens its own file.
func (src *containerdSource) HasThreadSafeGetBlob() bool { return true }

// GetSignatures returns none: containerd keeps no simple signatures.
func (src *containerdSource) GetSignatures(ctx context.Context, instanceDigest *digest.Digest) ([][]byte, error) {
	return nil, nil
}

// LayerInfosForCopy returns nil: the manifests' layers are the ones to copy.
func (src *containerdSource) LayerInfosForCopy(ctx context.Context, instanceDigest *digest.Digest) ([]types.BlobInfo, error) {
	return nil, nil
}

// list reports every image with the size of the blobs of it that the
// content store holds (a multi-platform image is usually only partly
// pulled).
func (c *containerdStore) list() ([]Image, error) {
	out := make([]Image, 0, len(c.images))
	for _, img := range c.images {
		size, err := c.presentSize(img.target, 0)
		if err != nil {
			return nil, fmt.Errorf("image %s (%s): %w", img.name, img.target.Digest, err)
		}
		var names []string
		if img.name != "" {
			names = []string{img.name}
		}
		out = append(out, Image{Names: names, ID: img.target.Digest, Size: size, Store: "containerd"})
	}
	return out, nil
}

// presentSize sums the sizes of desc and of the blobs it refers to that
// are in the content store.
func (c *containerdStore) presentSize(desc imgspecv1.Descriptor, depth int) (int64, error) {
	if depth > 8 {
		return 0, fmt.Errorf("%s: indexes nested deeper than 8", desc.Digest)
	}
	if _, err := c.root.Stat(c.blobPath(desc.Digest)); err != nil {
		return 0, nil
	}
	total := desc.Size
	switch desc.MediaType {
	case imgspecv1.MediaTypeImageIndex, manifest.DockerV2ListMediaType,
		imgspecv1.MediaTypeImageManifest, manifest.DockerV2Schema2MediaType:
	default:
		return total, nil
	}
	data, err := c.readBlob(desc)
	if err != nil {
		return 0, err
	}
	var m struct {
		Manifests []imgspecv1.Descriptor `json:"manifests"`
		Config    *imgspecv1.Descriptor  `json:"config"`
		Layers    []imgspecv1.Descriptor `json:"layers"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return 0, fmt.Errorf("parsing %s: %w", desc.Digest, err)
	}
	children := append(m.Manifests, m.Layers...)
	if m.Config != nil {
		children = append(children, *m.Config)
	}
	for _, ch := range children {
		n, err := c.presentSize(ch, depth+1)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}
