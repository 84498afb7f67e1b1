package destination

import (
	"context"

	"go.podman.io/image/v5/types"
)

// WithoutBlobHashing returns ref, unchanged for every purpose (policy,
// naming) except that an oci-layout destination it opens does not hash a
// blob whose digest the caller gives to PutBlob: it stores the stream under
// that digest, checking only the size (layout.PutVerifiedBlob). That is
// sound for copy.Image, and only for callers like it: copy.Image sends
// every blob of known digest through its own digest check, which turns a
// mismatch into a read error before the end of the stream, so nothing is
// stored; a blob it transforms (compresses, decrypts) it sends with no
// digest, and that one is still hashed here. One sha256 per byte instead
// of two. Other destinations are unaffected.
func WithoutBlobHashing(ref types.ImageReference) types.ImageReference {
	return unhashedRef{ref}
}

type unhashedRef struct{ types.ImageReference }

func (r unhashedRef) NewImageDestination(ctx context.Context, sys *types.SystemContext) (types.ImageDestination, error) {
	dest, err := r.ImageReference.NewImageDestination(ctx, sys)
	if d, ok := dest.(*Destination); ok && err == nil {
		d.hashBlobs = false
	}
	return dest, err
}
