package layout

import (
	"context"
	"errors"
)

// DeleteImage removes the entry sel selects from the layout at dir and
// reclaims the blobs nothing else reaches.
func DeleteImage(ctx context.Context, dir string, sel Selector, opts ...Option) error {
	return errors.New("delete: not implemented yet")
}
