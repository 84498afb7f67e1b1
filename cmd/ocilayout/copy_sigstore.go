package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/types"

	"github.com/ocilayout/ocilayout/reference"
)

// copyImage is copy.Image, except that a registry image with sigstore
// signatures (cosign's, read when registries.d sets
// use-sigstore-attachments) can still be copied into a layout.
// containers/image writes sigstore signatures only into its own
// transports and fails the copy with "unsupported signature format
// sigstore-json" for any other; on that failure the copy is made again
// from a source that shows containers/image its simple-signing signatures
// only. The policy is enforced on that source: a sigstoreSigned
// requirement then fails (the signatures it would check are hidden), and
// nothing is accepted unverified. --referrers carries the signatures
// themselves, as cosign's tags.
func copyImage(ctx context.Context, pc *signature.PolicyContext, dest, src types.ImageReference, o *copy.Options, report io.Writer) ([]byte, error) {
	m, err := copy.Image(ctx, pc, dest, src, o)
	if err == nil || dest.Transport().Name() != reference.TransportName || !strings.Contains(err.Error(), "unsupported signature format sigstore") {
		return m, err
	}
	fmt.Fprintf(report, "Copying without the sigstore signatures, which containers/image writes only into its own transports (--referrers carries them as cosign tags)\n")
	return copy.Image(ctx, pc, dest, withoutSigstore{src}, o)
}

// withoutSigstore is a reference whose image source offers only the
// public ImageSource interface, whose GetSignatures containers/image
// implements by keeping simple-signing signatures and dropping the others.
type withoutSigstore struct{ types.ImageReference }

func (r withoutSigstore) NewImageSource(ctx context.Context, sys *types.SystemContext) (types.ImageSource, error) {
	src, err := r.ImageReference.NewImageSource(ctx, sys)
	if err != nil {
		return nil, err
	}
	return publicSource{src}, nil
}

// publicSource hides every method of an ImageSource beyond the public
// interface (the embedded interface has no others).
type publicSource struct{ types.ImageSource }
