package dockerstorage

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/types"
)

// newImageSource opens the store and resolves ref in it.
func newImageSource(ctx context.Context, ref storageReference) (types.ImageSource, error) {
	s, err := openStore(ref.root)
	if err != nil {
		return nil, err
	}
	f, err := s.resolve(ref)
	if err != nil {
		s.Close()
		return nil, err
	}
	var src types.ImageSource
	if f.graph != nil {
		src, err = newGraphSource(ref, s, f.graph, f.id)
	} else {
		src, err = newContainerdSource(ctx, ref, s, f.ctrd)
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	return src, nil
}

// graphSource serves one image of a graph-driver store as an OCI image
// whose manifest is built here: the config is Docker's own (so its digest
// is the image ID) and each layer is the uncompressed tar tar-split
// reassembles, so its digest is its DiffID. copy.Image compresses the
// layers for destinations that want it.
type graphSource struct {
	ref      storageReference
	store    *store
	graph    *graphStore
	id       digest.Digest
	config   []byte
	layers   []graphLayer
	byDiffID map[digest.Digest]graphLayer
	manifest []byte
}

func newGraphSource(ref storageReference, s *store, g *graphStore, id digest.Digest) (*graphSource, error) {
	config, err := g.config(id)
	if err != nil {
		return nil, err
	}
	layers, err := g.layers(id, config)
	if err != nil {
		return nil, err
	}
	m := imgspecv1.Manifest{
		Versioned: imgspec.Versioned{SchemaVersion: 2},
		MediaType: imgspecv1.MediaTypeImageManifest,
		Config:    imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageConfig, Digest: id, Size: int64(len(config))},
		Layers:    []imgspecv1.Descriptor{},
	}
	byDiffID := map[digest.Digest]graphLayer{}
	for _, l := range layers {
		m.Layers = append(m.Layers, imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageLayer, Digest: l.diffID, Size: l.size})
		if _, ok := byDiffID[l.diffID]; !ok {
			byDiffID[l.diffID] = l
		}
	}
	man, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return &graphSource{ref: ref, store: s, graph: g, id: id, config: config, layers: layers, byDiffID: byDiffID, manifest: man}, nil
}

// Reference returns the reference used to set up this source.
func (src *graphSource) Reference() types.ImageReference { return src.ref }

// Close releases the store's root directory.
func (src *graphSource) Close() error { return src.store.Close() }

// GetManifest returns the OCI manifest built for the image. A graph-driver
// image is a single manifest, so instanceDigest must be nil or that
// manifest's own digest.
func (src *graphSource) GetManifest(ctx context.Context, instanceDigest *digest.Digest) ([]byte, string, error) {
	if instanceDigest != nil && *instanceDigest != digest.FromBytes(src.manifest) {
		return nil, "", fmt.Errorf("image %s in %s is a single image, it has no instance %s", src.id, src.store.dir, *instanceDigest)
	}
	return src.manifest, imgspecv1.MediaTypeImageManifest, nil
}

// GetBlob returns the config or a reassembled layer, with its size. A
// layer stream fails at its end, naming the layer, unless it hashed to
// its DiffID; the config was checked against the image ID when the
// source was opened.
func (src *graphSource) GetBlob(ctx context.Context, info types.BlobInfo, cache types.BlobInfoCache) (io.ReadCloser, int64, error) {
	if info.Digest == src.id {
		return io.NopCloser(bytes.NewReader(src.config)), int64(len(src.config)), nil
	}
	l, ok := src.byDiffID[info.Digest]
	if !ok {
		return nil, 0, fmt.Errorf("image %s in %s has no blob %s", src.id, src.store.dir, info.Digest)
	}
	rc, err := openLayer(src.store.root, l)
	if err != nil {
		return nil, 0, fmt.Errorf("image %s in %s: %w", src.id, src.store.dir, err)
	}
	return rc, l.size, nil
}

// HasThreadSafeGetBlob is true: each GetBlob opens its own files, and
// os.Root is safe for concurrent use.
func (src *graphSource) HasThreadSafeGetBlob() bool { return true }

// GetSignatures returns none: Docker keeps no signatures in its store.
func (src *graphSource) GetSignatures(ctx context.Context, instanceDigest *digest.Digest) ([][]byte, error) {
	return nil, nil
}

// LayerInfosForCopy returns nil: the manifest's layers are the ones to copy.
func (src *graphSource) LayerInfosForCopy(ctx context.Context, instanceDigest *digest.Digest) ([]types.BlobInfo, error) {
	return nil, nil
}
