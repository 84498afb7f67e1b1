package main

import (
	"context"
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/types"

	"github.com/ocilayout/ocilayout/reference"
	"github.com/ocilayout/ocilayout/referrers"
)

// copyReferrers carries, after copy.Image, the referrer graph of the copied
// manifest (and of the instances copied with it) from src to dest, with
// the SystemContexts the image was copied with. The image's digest must
// have survived the copy: a referrer names its subject by digest.
func copyReferrers(ctx context.Context, src, dest types.ImageReference, srcSys, destSys *types.SystemContext, copied digest.Digest, report io.Writer) error {
	from, closeFrom, err := referrersEndpoint(ctx, src, srcSys, true)
	if err != nil {
		return err
	}
	defer closeFrom()
	to, closeTo, err := referrersEndpoint(ctx, dest, destSys, false)
	if err != nil {
		return err
	}
	defer closeTo()
	res, err := referrers.Copy(ctx, from, to, copied)
	if err != nil {
		return fmt.Errorf("copying referrers (the copy must keep the manifest digest: --preserve-digests): %w", err)
	}
	fmt.Fprintf(report, "Copied %d referrers and %d cosign tags\n", len(res.Referrers), len(res.Tags))
	return nil
}

// checkReferrersTransports refuses --referrers before anything is copied
// when an end is neither oci-layout: nor docker://.
func checkReferrersTransports(refs ...types.ImageReference) error {
	for _, ref := range refs {
		if n := ref.Transport().Name(); n != reference.TransportName && n != docker.Transport.Name() {
			return usagef("--referrers: %s:%s: referrers are carried between oci-layout: and docker:// images only", n, ref.StringWithinTransport())
		}
	}
	return nil
}

// referrersEndpoint is the layout of an oci-layout: reference or the
// repository of a docker:// one (for a source, where registries.conf
// pulls it from).
func referrersEndpoint(ctx context.Context, ref types.ImageReference, sys *types.SystemContext, source bool) (*referrers.Endpoint, func(), error) {
	name := ref.Transport().Name() + ":" + ref.StringWithinTransport()
	switch ref.Transport().Name() {
	case reference.TransportName:
		l, _, err := reference.OpenLayout(ref, sys, "copying referrers")
		if err != nil {
			return nil, nil, err
		}
		return referrers.Layout(l, name), func() { _ = l.Close() }, nil
	case docker.Transport.Name():
		open := referrers.Registry
		if source {
			open = referrers.RegistrySource
		}
		e, err := open(ctx, ref.DockerReference(), sys)
		if err != nil {
			return nil, nil, err
		}
		return e, func() {}, nil
	}
	return nil, nil, usagef("--referrers: %s: referrers are carried between oci-layout: and docker:// images only", name)
}
