package reference

import (
	"context"
	"errors"
	"fmt"

	"github.com/ocilayout/ocilayout/internal/imageopts"
	"github.com/ocilayout/ocilayout/layout"
	"go.podman.io/image/v5/types"
)

// Option tunes the sources and destinations an oci-layout reference opens.
// Options travel with the reference (see With), because containers/image
// opens them itself, from the reference alone, deep inside copy.Image.
type Option func(*imageopts.Options)

// WithoutSecondHash makes the reference's source check only the size of
// the blobs it streams, and its destination store blobs of known digest
// without hashing them, for tools whose every read and write goes through
// copy.Image: it hashes each blob it streams and fails a mismatch before
// the end of the stream, so a second hash costs a core's worth of sha256
// per byte for nothing. Manifests are still verified. A library reader
// that is not copy.Image must not use it.
func WithoutSecondHash() Option { return func(o *imageopts.Options) { o.SizeOnly = true } }

// WithTrustedLinks makes the reference's destination link blobs from other
// layouts without hashing them first. Reusing a 1 GiB layer then costs
// what a link costs instead of what reading 1 GiB costs; it is sound only
// when every layout on the file system that this process may link from
// (every one recorded in the blob info cache) is written only by parties
// trusted as much as the destination: a blob altered in place in a source
// would be linked unchecked.
func WithTrustedLinks() Option { return func(o *imageopts.Options) { o.TrustLinks = true } }

// WithLayoutOptions makes the reference's source and destination open
// their layout with opts too (after those its SystemContext asks for),
// e.g. layout.WithLockTimeout, so that a tool's lock waits are bounded
// even for the layouts copy.Image opens deep inside.
func WithLayoutOptions(opts ...layout.Option) Option {
	return func(o *imageopts.Options) {
		all := append([]layout.Option(nil), opts...)
		if o.Layout != nil {
			all = append(append([]layout.Option(nil), *o.Layout...), opts...)
		}
		o.Layout = &all
	}
}

// With returns ref with opts applied if it is an oci-layout reference (of
// any registered name), and ref unchanged otherwise, so that a tool can
// tune whatever reference a user gave it. The result is still a Reference,
// with the same name, policy identity and selector.
func With(ref types.ImageReference, opts ...Option) types.ImageReference {
	lr, ok := ref.(layoutReference)
	if !ok {
		return ref
	}
	for _, opt := range opts {
		opt(&lr.opts)
	}
	return lr
}

// OpenLayout opens the layout of an oci-layout reference for reading, with
// the shared blob directory sys names, and returns its selector: for tools
// that act on the image in place (sign, delete). Other references are
// refused with an error wrapping ErrNotLayout, and why: what an
// oci-layout reference is needed for.
func OpenLayout(ref types.ImageReference, sys *types.SystemContext, why string) (*layout.Layout, layout.Selector, error) {
	lr, ok := ref.(Reference)
	if !ok {
		return nil, layout.Selector{}, fmt.Errorf("%s: %w (%s)", ref.Transport().Name()+":"+ref.StringWithinTransport(), ErrNotLayout, why)
	}
	var lopts []layout.Option
	if r, ok := ref.(layoutReference); ok {
		lopts = r.opts.LayoutOptions(sys)
	} else {
		lopts = imageopts.Layout(sys)
	}
	l, err := layout.Open(lr.ResolvedDir(), lopts...)
	if err != nil {
		return nil, layout.Selector{}, err
	}
	return l, lr.Selector(), nil
}

// ErrNotLayout is wrapped by OpenLayout's error for a reference of
// another transport.
var ErrNotLayout = errors.New("is not an oci-layout: image")

// Delete removes the image ref selects, as DeleteImage does, and reports
// what went: the index.json entries and the reclaimed blobs (nil when the
// blob directory is shared, see layout.Layout.Delete). For a reference of
// another transport it calls its DeleteImage and returns a nil result.
func Delete(ctx context.Context, sys *types.SystemContext, ref types.ImageReference) (*layout.DeleteResult, error) {
	if _, ok := ref.(Reference); !ok {
		return nil, ref.DeleteImage(ctx, sys)
	}
	l, sel, err := OpenLayout(ref, sys, "")
	if err != nil {
		return nil, err
	}
	defer l.Close()
	return l.Delete(ctx, sel)
}
