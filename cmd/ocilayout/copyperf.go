package main

import (
	"github.com/ocilayout/ocilayout/destination"
	"github.com/ocilayout/ocilayout/reference"
	"github.com/ocilayout/ocilayout/source"
	"go.podman.io/image/v5/types"
)

// tuneForCopy adapts oci-layout references to being driven by copy.Image:
// the source skips its own digest check of streamed blobs, because
// copy.Image hashes every streamed blob and refuses a mismatch (one hash
// per byte instead of two: twice the streaming throughput measured by
// BenchmarkGetBlob); with trustLinks, the destination links blobs from
// other layouts without hashing them (see destination.WithTrustedLinks).
// References of other transports are returned unchanged.
func tuneForCopy(src, dest types.ImageReference, trustLinks bool) (types.ImageReference, types.ImageReference) {
	if _, ok := src.(reference.Reference); ok {
		src = source.WithoutBlobHashing(src)
	}
	if _, ok := dest.(reference.Reference); ok && trustLinks {
		dest = destination.WithTrustedLinks(dest)
	}
	return src, dest
}
