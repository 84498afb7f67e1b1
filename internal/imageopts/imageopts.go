// Package imageopts is the tuning an oci-layout reference carries to the
// source and destination it opens. The options are set through
// reference.With and the SystemContext; this package only holds them, so
// that reference, source and destination share one definition without
// importing each other.
package imageopts

import (
	"github.com/ocilayout/ocilayout/layout"
	"go.podman.io/image/v5/types"
)

// Options tune one source or destination.
type Options struct {
	// SizeOnly: blobs streamed out of a source, and blobs put into a
	// destination under a digest the caller gives, are checked for size
	// but not hashed, because the caller (copy.Image) hashes them and
	// fails on a mismatch. Manifests are always verified.
	SizeOnly bool
	// TrustLinks: a destination links blobs from other layouts without
	// hashing them (see layout.Layout.LinkBlob).
	TrustLinks bool
	// Batch, when set, receives a destination's index change at Commit
	// instead of the destination applying it (see reference.Batch).
	Batch Deferrer
	// Layout are options for every layout.Open and layout.Create of the
	// source or destination (e.g. layout.WithLockTimeout).
	// A pointer, so that Options, and the references holding them, stay
	// comparable values.
	Layout *[]layout.Option
}

// LayoutOptions returns the layout.Options for a source or destination
// under o: those sys asks for, then those set through the reference.
func (o Options) LayoutOptions(sys *types.SystemContext) []layout.Option {
	opts := Layout(sys)
	if o.Layout != nil {
		opts = append(opts, *o.Layout...)
	}
	return opts
}

// Deferrer collects index changes, to apply them later in one
// transaction. It is an interface holding a pointer, so Options stays
// comparable (references are compared with ==).
type Deferrer interface {
	Defer(change func(*layout.IndexTx) error)
}

// Layout returns the layout.Options that sys asks for: the one place the
// SystemContext's OCISharedBlobDirPath becomes a shared blob directory.
func Layout(sys *types.SystemContext) []layout.Option {
	if sys != nil && sys.OCISharedBlobDirPath != "" {
		return []layout.Option{layout.WithSharedBlobDir(sys.OCISharedBlobDirPath)}
	}
	return nil
}

// Blob returns the layout.BlobOptions for streaming blobs under o.
func (o Options) Blob() []layout.BlobOption {
	if o.SizeOnly {
		return []layout.BlobOption{layout.SizeOnly()}
	}
	return nil
}

// Link returns the layout.BlobOptions for linking blobs under o.
func (o Options) Link() []layout.BlobOption {
	if o.TrustLinks {
		return []layout.BlobOption{layout.SizeOnly()}
	}
	return nil
}
