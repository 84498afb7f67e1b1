package mirror

import (
	"context"
	"fmt"
	"regexp"

	"github.com/distribution/reference"
	"github.com/ocilayout/ocilayout/referrers"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/types"
)

// Referrers (Options.Referrers): after the images, each image the sync
// copied or found unchanged has its referrer graph (signatures, SBOMs,
// attestations, recursively, and cosign's sha256-HEX.sig/.att/.sbom tags)
// carried from the source to the destination with referrers.Copy, as
// "ocilayout copy --referrers" does. Unchanged images too: a signature
// added upstream to an image that did not change must still arrive. A
// referrer names its subject by digest, so an image the layout holds
// converted (a Docker schema2 source) cannot have them.

// referrersTagRE is a tag that holds referrers rather than an image: the
// referrers API's fallback tag (sha256-HEX) and cosign's attachments
// (sha256-HEX.sig, .att, .sbom).
var referrersTagRE = regexp.MustCompile(`^sha256-[0-9a-f]{64}(\.(sig|att|sbom))?$`)

// isReferrersTag reports whether tag is one: with Options.Referrers such
// tags travel with their subject and are not synced as images of their
// own (which cosign's tags made fail, skopeo#1596).
func isReferrersTag(tag string) bool { return referrersTagRE.MatchString(tag) }

// carryReferrers copies it's referrers and records how many it carried;
// a failure fails the item, naming the cause.
func (p *plan) carryReferrers(ctx context.Context, it *item) {
	d := it.result.Digest
	if p.heldSource[it.destName] != "" || it.c != nil && it.c.converted {
		it.result.extra().Note = "referrers not copied: the destination holds the image converted, under another digest than upstream's"
		return
	}
	from, closeFrom, err := p.sourceEndpoint(ctx, it)
	if err != nil {
		it.result.fail(ActionFailed, fmt.Sprintf("copying referrers: %v", err))
		return
	}
	defer closeFrom()
	to, closeTo, err := p.destinationEndpoint(ctx, it)
	if err != nil {
		it.result.fail(ActionFailed, fmt.Sprintf("copying referrers: %v", err))
		return
	}
	defer closeTo()
	res, err := referrers.Copy(ctx, from, to, d)
	if err != nil {
		it.result.fail(ActionFailed, fmt.Sprintf("copying referrers: %v", err))
		return
	}
	if n := len(res.Referrers) + len(res.Tags); n > 0 {
		it.result.extra().Referrers = n
	}
}

// sourceEndpoint is the layout or repository it comes from.
func (p *plan) sourceEndpoint(ctx context.Context, it *item) (*referrers.Endpoint, func(), error) {
	if dir := it.from.layout; dir != "" {
		return layoutEndpoint(dir, it.from.sys, false)
	}
	src, err := it.srcRef()
	if err != nil {
		return nil, nil, err
	}
	return registryEndpoint(ctx, src, it.from.sys, referrers.RegistrySource)
}

// destinationEndpoint is the layout or repository it goes to.
func (p *plan) destinationEndpoint(ctx context.Context, it *item) (*referrers.Endpoint, func(), error) {
	if dir := p.opts.Destination.Layout; dir != "" {
		return layoutEndpoint(dir, p.opts.Destination.Sys, true)
	}
	dest, err := p.destRef(it)
	if err != nil {
		return nil, nil, err
	}
	return registryEndpoint(ctx, dest, p.opts.Destination.Sys, referrers.Registry)
}

// registryEndpoint is the registry endpoint of ref, opened with open
// (referrers.RegistrySource to read, referrers.Registry to write).
func registryEndpoint(ctx context.Context, ref types.ImageReference, sys *types.SystemContext, open func(context.Context, reference.Named, *types.SystemContext) (*referrers.Endpoint, error)) (*referrers.Endpoint, func(), error) {
	if r, ok := ref.(*reusedSource); ok {
		ref = r.ImageReference
	}
	if ref.Transport().Name() != docker.Transport.Name() || ref.DockerReference() == nil {
		return nil, nil, fmt.Errorf("%s is not a registry image", ref.StringWithinTransport())
	}
	e, err := open(ctx, ref.DockerReference(), sys)
	return e, func() {}, err
}
