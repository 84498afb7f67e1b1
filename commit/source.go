package commit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/types"
	"go.podman.io/storage"
	"go.podman.io/storage/pkg/archive"
)

// source is the types.ImageSource of a committed container: a snapshot
// taken when it was opened.
type source struct {
	ref  Reference
	snap *snapshot
}

// NewImageSource snapshots the container (see the package doc) and
// returns a source serving the committed image. The caller must Close it,
// which removes the snapshot's temp file.
func (ref Reference) NewImageSource(ctx context.Context, sys *types.SystemContext) (types.ImageSource, error) {
	snap, err := takeSnapshot(ctx, ref, sys)
	if err != nil {
		return nil, err
	}
	return &source{ref: ref, snap: snap}, nil
}

// Reference returns the reference used to set up this source.
func (s *source) Reference() types.ImageReference { return s.ref }

// Close removes the snapshot of the container's diff.
func (s *source) Close() error {
	if err := os.Remove(s.snap.diffFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing the commit snapshot %s: %w", s.snap.diffFile, err)
	}
	return nil
}

// GetManifest returns the committed image's manifest and its MIME type.
// The image is a single one: any instanceDigest is an error.
func (s *source) GetManifest(ctx context.Context, instanceDigest *digest.Digest) ([]byte, string, error) {
	if instanceDigest != nil {
		return nil, "", fmt.Errorf("committed container %s is a single image, it has no instance %s", s.ref.container, *instanceDigest)
	}
	return s.snap.manifest, s.snap.mimeType, nil
}

// HasThreadSafeGetBlob is true: every GetBlob opens its own reader. The
// snapshot file is read in parallel with the rest; image layers are
// serialised by the store itself, whose store.Diff holds the layer
// store's lock until its stream is closed.
func (s *source) HasThreadSafeGetBlob() bool { return true }

// GetBlob returns the config, or a layer uncompressed: the snapshot of
// the container's diff, or an image layer's diff streamed from the store
// (which holds its layer lock until the stream is closed). The caller
// (copy.Image) verifies the digest.
func (s *source) GetBlob(ctx context.Context, info types.BlobInfo, cache types.BlobInfoCache) (io.ReadCloser, int64, error) {
	if info.Digest == s.snap.configDigest {
		return io.NopCloser(bytes.NewReader(s.snap.config)), int64(len(s.snap.config)), nil
	}
	l, ok := s.snap.layers[info.Digest]
	if !ok {
		return nil, -1, fmt.Errorf("committed container %s has no blob %s", s.ref.container, info.Digest)
	}
	if l.file != "" {
		f, err := os.Open(l.file)
		if err != nil {
			return nil, -1, fmt.Errorf("opening the commit snapshot of container %s: %w", s.ref.container, err)
		}
		return f, l.size, nil
	}
	uncompressed := archive.Uncompressed
	rc, err := s.ref.store.Diff("", l.storeID, &storage.DiffOptions{Compression: &uncompressed})
	if err != nil {
		return nil, -1, fmt.Errorf("reading layer %s (%s) from %s: %w", l.storeID, info.Digest, s.ref.store.GraphRoot(), err)
	}
	return rc, l.size, nil
}

// GetSignatures returns none: a fresh commit is unsigned.
func (s *source) GetSignatures(ctx context.Context, instanceDigest *digest.Digest) ([][]byte, error) {
	return nil, nil
}

// LayerInfosForCopy returns nil: the manifest's layers are what to copy.
func (s *source) LayerInfosForCopy(ctx context.Context, instanceDigest *digest.Digest) ([]types.BlobInfo, error) {
	return nil, nil
}
