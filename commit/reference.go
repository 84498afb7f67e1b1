// Package commit turns a containers/storage container into an image
// without podman or buildah, the way cri-o's CopyRef and buildah's commit
// do: a types.ImageReference whose source serves the container's image
// layers (diffed fresh from the store, uncompressed, each hashing to its
// DiffID), the container's read-write layer diffed from the store as one
// new layer, and a config derived from the container's image with the new
// DiffID, a history entry and podman-commit-style changes. copy.Image
// writes it anywhere (oci-layout:, dir:, docker://, ...).
//
// It needs only the store on disk, never a running engine. A mounted
// container (mount count above zero: running, or mounted by
// "podman mount") is refused, because its files may change while they are
// read; the diff itself is read with the store's layer lock held, so no
// engine can mount, unmount or delete the layer meanwhile.
package commit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ocilayout/ocilayout/internal/refimage"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	dockerref "go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/types"
	"go.podman.io/storage"
)

// Option adjusts the image a Reference produces.
type Option func(*options) error

type options struct {
	author, message string
	created         time.Time // zero: the time NewImageSource runs
	format          string    // manifest MIME type
	changes         []change
	tempDir         string
}

// WithAuthor records author in the config and its new history entry
// (podman commit --author).
func WithAuthor(author string) Option {
	return func(o *options) error { o.author = author; return nil }
}

// WithMessage records message as the new history entry's comment
// (podman commit --message).
func WithMessage(message string) Option {
	return func(o *options) error { o.message = message; return nil }
}

// WithCreated sets the config's and the history entry's creation time
// instead of the time the image source is opened, for reproducible
// images.
func WithCreated(t time.Time) Option {
	return func(o *options) error { o.created = t.UTC(); return nil }
}

// WithFormat chooses the manifest type: imgspecv1.MediaTypeImageManifest
// (the default) or manifest.DockerV2Schema2MediaType, whose config
// containers/image converts from the OCI one.
func WithFormat(mimeType string) Option {
	return func(o *options) error {
		if mimeType != imgspecv1.MediaTypeImageManifest && mimeType != manifest.DockerV2Schema2MediaType {
			return fmt.Errorf("unsupported manifest type %q: must be %s or %s", mimeType, imgspecv1.MediaTypeImageManifest, manifest.DockerV2Schema2MediaType)
		}
		o.format = mimeType
		return nil
	}
}

// WithChanges applies Dockerfile instructions to the config, as
// "podman commit --change" does: CMD, ENTRYPOINT, ENV, LABEL, EXPOSE,
// USER, WORKDIR, VOLUME and STOPSIGNAL. They are parsed here, so a
// malformed one fails NewReference rather than a copy.
func WithChanges(changes ...string) Option {
	return func(o *options) error {
		for _, s := range changes {
			c, err := parseChange(s)
			if err != nil {
				return err
			}
			o.changes = append(o.changes, c)
		}
		return nil
	}
}

// WithTempDir puts the snapshot of the container's layer diff in dir
// instead of the default temp directory ($TMPDIR); it holds the whole
// uncompressed diff until the image source is closed.
func WithTempDir(dir string) Option {
	return func(o *options) error { o.tempDir = dir; return nil }
}

// Reference names a container in a store, to be read as an image. It is
// a types.ImageReference that can only be a source.
type Reference struct {
	store     storage.Store
	container string // ID, resolved at creation
	opts      options
}

var _ types.ImageReference = Reference{}

// NewReference returns a reference to the container named or identified
// by container in store. It fails when there is no such container or an
// option is invalid; the container's layers are only read by
// NewImageSource. The store stays the caller's to shut down.
func NewReference(store storage.Store, container string, opts ...Option) (Reference, error) {
	c, err := store.Container(container)
	if err != nil {
		return Reference{}, fmt.Errorf("looking up container %q in %s: %w", container, store.GraphRoot(), err)
	}
	ref := Reference{store: store, container: c.ID, opts: options{format: imgspecv1.MediaTypeImageManifest}}
	for _, o := range opts {
		if err := o(&ref.opts); err != nil {
			return Reference{}, fmt.Errorf("committing container %q: %w", container, err)
		}
	}
	return ref, nil
}

// Transport returns Transport.
func (ref Reference) Transport() types.ImageTransport { return Transport }

// StringWithinTransport returns "[DRIVER@GRAPHROOT+RUNROOT]CONTAINER-ID",
// which Transport.ParseReference reads back (without the options).
func (ref Reference) StringWithinTransport() string {
	return storeSpec(ref.store) + ref.container
}

// DockerReference returns nil: a container has no registry name.
func (ref Reference) DockerReference() dockerref.Named { return nil }

// PolicyConfigurationIdentity returns "[DRIVER@GRAPHROOT]CONTAINER-ID", so
// that a policy can scope one container of one store.
func (ref Reference) PolicyConfigurationIdentity() string {
	return fmt.Sprintf("[%s@%s]%s", ref.store.GraphDriverName(), ref.store.GraphRoot(), ref.container)
}

// PolicyConfigurationNamespaces returns the store, "[DRIVER@GRAPHROOT]":
// the only wider scope a container has.
func (ref Reference) PolicyConfigurationNamespaces() []string {
	return []string{fmt.Sprintf("[%s@%s]", ref.store.GraphDriverName(), ref.store.GraphRoot())}
}

// NewImage returns the committed image, read through NewImageSource. The
// caller must Close it.
func (ref Reference) NewImage(ctx context.Context, sys *types.SystemContext) (types.ImageCloser, error) {
	return refimage.New(ctx, sys, ref)
}

// errReadOnly is what every write through this transport fails with.
var errReadOnly = errors.New("a committed container is read-only: it can only be a source")

// NewImageDestination fails: a container is made by an engine, not copied
// into.
func (ref Reference) NewImageDestination(ctx context.Context, sys *types.SystemContext) (types.ImageDestination, error) {
	return nil, fmt.Errorf("writing to %s:%s: %w", Transport.Name(), ref.StringWithinTransport(), errReadOnly)
}

// DeleteImage fails: removing containers is the engine's business.
func (ref Reference) DeleteImage(ctx context.Context, sys *types.SystemContext) error {
	return fmt.Errorf("deleting %s:%s: %w", Transport.Name(), ref.StringWithinTransport(), errReadOnly)
}
