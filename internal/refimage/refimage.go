// Package refimage is the NewImage of every types.ImageReference this
// module implements: containers/image's own transports use its internal
// image.FromReference, which a third-party transport cannot import.
package refimage

import (
	"context"

	"go.podman.io/image/v5/image"
	"go.podman.io/image/v5/types"
)

// New returns the image ref's NewImageSource serves, as a types.ImageCloser
// the caller must Close. It does no signature verification.
func New(ctx context.Context, sys *types.SystemContext, ref types.ImageReference) (types.ImageCloser, error) {
	src, err := ref.NewImageSource(ctx, sys)
	if err != nil {
		return nil, err
	}
	img, err := image.FromSource(ctx, sys, src)
	if err != nil {
		src.Close()
		return nil, err
	}
	return img, nil
}
