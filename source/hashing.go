package source

import (
	"context"

	"go.podman.io/image/v5/types"
)

// WithoutBlobHashing returns ref, unchanged for every purpose (policy,
// naming) except that an oci-layout source it opens checks only the size
// of the blobs it streams, not their digest (see SetBlobHashing). It is
// for tools whose every read goes through copy.Image, which hashes each
// blob it streams and refuses a mismatch: the second hash would cost a
// full core's worth of sha256 per byte for nothing. Manifests are still
// verified. Other sources are unaffected.
func WithoutBlobHashing(ref types.ImageReference) types.ImageReference {
	return unhashedRef{ref}
}

type unhashedRef struct{ types.ImageReference }

func (r unhashedRef) NewImageSource(ctx context.Context, sys *types.SystemContext) (types.ImageSource, error) {
	src, err := r.ImageReference.NewImageSource(ctx, sys)
	if s, ok := src.(*Source); ok && err == nil {
		s.SetBlobHashing(false)
	}
	return src, err
}
