package reference

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ocilayout/ocilayout/internal/refimage"

	"github.com/ocilayout/ocilayout/destination"
	"github.com/ocilayout/ocilayout/internal/imageopts"
	"github.com/ocilayout/ocilayout/layout"
	"github.com/ocilayout/ocilayout/policy"
	"github.com/ocilayout/ocilayout/source"
	"github.com/opencontainers/go-digest"
	dockerref "go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/types"
)

// Reference is what every reference this package returns implements beyond
// types.ImageReference. It exists so that callers (e.g. a CLI listing or
// deleting images) can get at the parsed parts without re-parsing strings:
// assert a types.ImageReference to it.
type Reference interface {
	types.ImageReference
	// Dir returns PATH as given by the user (possibly relative).
	Dir() string
	// ResolvedDir returns PATH made absolute with symlinks resolved, as
	// computed when the reference was created; it is what I/O uses.
	ResolvedDir() string
	// Selector returns which entry of index.json the reference designates.
	Selector() layout.Selector
}

// layoutReference is the types.ImageReference for PATH[:SELECTOR]. It is a
// comparable value: two references are equal iff they have the same
// transport, PATH as written, resolved PATH and selector.
type layoutReference struct {
	transport   Transport
	dir         string // as given; printed by StringWithinTransport
	resolvedDir string // absolute, symlinks resolved at creation; used for I/O and policy
	sel         layout.Selector
	opts        imageopts.Options // set by With; not part of the reference's name
}

var _ Reference = layoutReference{}

// NewReference returns a reference to the image tagged name in the layout at
// dir, or to the only image there if name is "". It uses the default
// transport (TransportName).
func NewReference(dir, name string) (types.ImageReference, error) {
	sel := layout.Selector{}
	if name != "" {
		var err error
		if sel, err = nameSelector(name); err != nil {
			return nil, fmt.Errorf("invalid %s reference %q: %w", TransportName, dir+":"+name, err)
		}
	}
	return newReference(NewTransport(TransportName), dir, sel)
}

// NewIndexReference returns a reference to the i-th (0-based) entry of
// index.json in the layout at dir. Such references are only usable as
// sources.
func NewIndexReference(dir string, i int) (types.ImageReference, error) {
	sel, err := layout.ParseSelector("@" + strconv.Itoa(i))
	if err != nil {
		return nil, fmt.Errorf("invalid %s reference %q: %w", TransportName, fmt.Sprintf("%s:@%d", dir, i), err)
	}
	return newReference(NewTransport(TransportName), dir, sel)
}

// NewDigestReference returns a reference to the manifest with digest d in
// the layout at dir. Such references are only usable as sources.
func NewDigestReference(dir string, d digest.Digest) (types.ImageReference, error) {
	sel, err := layout.ParseSelector("@" + string(d))
	if err != nil {
		return nil, fmt.Errorf("invalid %s reference %q: %w", TransportName, dir+":@"+string(d), err)
	}
	return newReference(NewTransport(TransportName), dir, sel)
}

// newReference validates dir and resolves it. A ':' in dir is refused
// because it could not be written back: PATH ends at the first ':'.
func newReference(t Transport, dir string, sel layout.Selector) (types.ImageReference, error) {
	whole := dir
	if sel != (layout.Selector{}) {
		whole += ":" + sel.String()
	}
	if dir == "" {
		return nil, fmt.Errorf("invalid %s reference %q: empty PATH", t.name, whole)
	}
	if strings.Contains(dir, ":") {
		return nil, fmt.Errorf("invalid %s reference %q: PATH %q must not contain ':'", t.name, whole, dir)
	}
	resolved, err := resolveDir(dir)
	if err != nil {
		return nil, fmt.Errorf("invalid %s reference %q: %w", t.name, whole, err)
	}
	return layoutReference{transport: t, dir: dir, resolvedDir: resolved, sel: sel}, nil
}

// Transport returns the transport the reference was parsed or created with.
func (ref layoutReference) Transport() types.ImageTransport { return ref.transport }

// StringWithinTransport returns PATH or PATH:SELECTOR, which
// Transport().ParseReference parses back to an equal reference.
func (ref layoutReference) StringWithinTransport() string {
	if ref.sel == (layout.Selector{}) {
		return ref.dir
	}
	return ref.dir + ":" + ref.sel.String()
}

// DockerReference returns NAME as a Docker reference when it is a fully
// qualified one with a tag or digest (e.g. "quay.io/ns/img:1.0"), so that
// policy.json signedBy identity matching and signing work as they do for
// registry images; otherwise nil. Short names are not normalized: "busybox"
// expanding to docker.io/library/busybox would be a guess about user intent.
func (ref layoutReference) DockerReference() dockerref.Named {
	name := ref.sel.Name()
	if name == "" {
		return nil
	}
	named, err := dockerref.ParseNamed(name)
	if err != nil || dockerref.IsNameOnly(named) {
		return nil
	}
	return named
}

// PolicyConfigurationIdentity returns the resolved PATH; see policy.Identity
// for why the selector is not part of it.
func (ref layoutReference) PolicyConfigurationIdentity() string {
	return policy.Identity(ref.resolvedDir)
}

// PolicyConfigurationNamespaces returns the resolved PATH and its parents;
// see policy.Namespaces.
func (ref layoutReference) PolicyConfigurationNamespaces() []string {
	return policy.Namespaces(ref.resolvedDir)
}

// NewImage returns a types.ImageCloser for the image; the caller must Close
// it. It does no signature verification.
func (ref layoutReference) NewImage(ctx context.Context, sys *types.SystemContext) (types.ImageCloser, error) {
	return refimage.New(ctx, sys, ref)
}

// NewImageSource returns a types.ImageSource reading the selected image;
// the caller must Close it.
func (ref layoutReference) NewImageSource(ctx context.Context, sys *types.SystemContext) (types.ImageSource, error) {
	return source.New(ctx, sys, ref, ref.resolvedDir, ref.sel, ref.opts)
}

// NewImageDestination returns a types.ImageDestination writing into the
// layout (created if missing) and, on Commit, tagging NAME if given; the
// caller must Close it. @N and @DIGEST are refused: they designate an
// existing entry and cannot say where a new image goes.
func (ref layoutReference) NewImageDestination(ctx context.Context, sys *types.SystemContext) (types.ImageDestination, error) {
	if ref.sel.Name() == "" && ref.sel != (layout.Selector{}) { // @N or @DIGEST
		return nil, fmt.Errorf("%s:%s cannot be a destination: a destination must be PATH or PATH:NAME", ref.transport.name, ref.StringWithinTransport())
	}
	parent := filepath.Dir(ref.resolvedDir)
	fi, err := os.Stat(parent)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("%s:%s cannot be a destination: parent directory %q does not exist", ref.transport.name, ref.StringWithinTransport(), parent)
	case err != nil:
		return nil, fmt.Errorf("%s:%s cannot be a destination: %w", ref.transport.name, ref.StringWithinTransport(), err)
	case !fi.IsDir():
		return nil, fmt.Errorf("%s:%s cannot be a destination: parent %q is not a directory", ref.transport.name, ref.StringWithinTransport(), parent)
	}
	return destination.New(ctx, sys, ref, ref.resolvedDir, ref.sel.Name(), ref.opts)
}

// DeleteImage removes the selected entry from index.json and the blobs only
// it used, honouring sys.OCISharedBlobDirPath (see Delete).
func (ref layoutReference) DeleteImage(ctx context.Context, sys *types.SystemContext) error {
	_, err := Delete(ctx, sys, ref)
	return err
}

// Dir returns PATH as given by the user.
func (ref layoutReference) Dir() string { return ref.dir }

// ResolvedDir returns PATH made absolute with symlinks resolved.
func (ref layoutReference) ResolvedDir() string { return ref.resolvedDir }

// Selector returns which entry of index.json the reference designates.
func (ref layoutReference) Selector() layout.Selector { return ref.sel }

// nameSelector returns the selector of NAME, refusing what is not a
// ref.name (including @N and @DIGEST, which ParseSelector would take).
func nameSelector(name string) (layout.Selector, error) {
	if err := layout.ValidateName(name); err != nil {
		return layout.Selector{}, err
	}
	return layout.ParseSelector(name)
}
