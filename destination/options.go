package destination

import (
	"context"

	"go.podman.io/image/v5/types"
)

// The options of a destination are reference wrappers, not SystemContext
// fields, because SystemContext belongs to containers/image. Each returns
// ref unchanged for every purpose (policy, naming) except what it says;
// destinations of other transports are unaffected, and wrappers nest.

// WithTrustedLinks makes an oci-layout destination link blobs from other
// layouts without hashing them first. That makes reusing a 1 GiB layer
// cost what a link costs instead of what reading 1 GiB costs, and is
// sound only when every layout on the file system that this process may
// link from (every one recorded in the blob info cache) is written only by
// parties trusted as much as the destination: a blob altered in place in
// a source would be linked unchecked.
func WithTrustedLinks(ref types.ImageReference) types.ImageReference {
	return optionRef{ref, func(d *Destination) { d.trustLinked = true }}
}

// WithoutBlobHashing makes an oci-layout destination store a blob whose
// digest the caller gives to PutBlob without hashing it, checking only the
// size (layout.PutVerifiedBlob). That is sound for copy.Image, and only
// for callers like it: copy.Image sends every blob of known digest through
// its own digest check, which turns a mismatch into a read error before
// the end of the stream, so nothing is stored; a blob it transforms
// (compresses, decrypts) it sends with no digest, and that one is still
// hashed here. One sha256 per byte instead of two.
func WithoutBlobHashing(ref types.ImageReference) types.ImageReference {
	return optionRef{ref, func(d *Destination) { d.hashBlobs = false }}
}

// optionRef applies set to the oci-layout Destination its reference opens.
type optionRef struct {
	types.ImageReference
	set func(*Destination)
}

func (r optionRef) NewImageDestination(ctx context.Context, sys *types.SystemContext) (types.ImageDestination, error) {
	dest, err := r.ImageReference.NewImageDestination(ctx, sys)
	if d, ok := dest.(*Destination); ok && err == nil {
		r.set(d)
	}
	return dest, err
}
