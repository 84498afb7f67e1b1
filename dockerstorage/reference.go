package dockerstorage

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/ocilayout/ocilayout/internal/refimage"

	"github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/docker/policyconfiguration"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/types"
)

// storageReference names one image in a Docker store: by name (normalized
// like the Docker CLI: "nginx" is docker.io/library/nginx:latest) or by
// image ID, never both.
//
// The name type is containers/image's fork of distribution/reference,
// whose ParseNormalizedNamed and TagNameOnly normalize exactly as the
// Docker CLI does; it is the type DockerReference must return.
type storageReference struct {
	root  string          // absolute, clean
	named reference.Named // normalized, tagged or digested; nil when id is set
	id    digest.Digest   // the image ID; "" when named is set
}

// ParseReference parses [ROOT:]NAME[:TAG] or [ROOT:]@sha256:<image-id>.
//
// ROOT is present when the string starts with '/' or '.' (no Docker name
// can) and ends at the first ':'; it defaults to DefaultRoot. NAME is
// normalized as the Docker CLI does it (a missing tag is :latest), and may
// carry a repository digest (NAME@sha256:...) as Docker records pulls.
func ParseReference(s string) (types.ImageReference, error) {
	root, rest := DefaultRoot, s
	if strings.HasPrefix(s, "/") || strings.HasPrefix(s, ".") {
		var ok bool
		root, rest, ok = strings.Cut(s, ":")
		if !ok || rest == "" {
			return nil, fmt.Errorf("invalid %s reference %q: no image after ROOT (want ROOT:NAME[:TAG] or ROOT:@sha256:<image-id>)", TransportName, s)
		}
	}
	if rest == "" {
		return nil, fmt.Errorf("invalid %s reference %q: empty image name", TransportName, s)
	}
	if id, ok := strings.CutPrefix(rest, "@"); ok {
		d, err := digest.Parse(id)
		if err != nil {
			return nil, fmt.Errorf("invalid %s reference %q: image ID: %w", TransportName, s, err)
		}
		return newReference(root, nil, d)
	}
	named, err := reference.ParseNormalizedNamed(rest)
	if err != nil {
		return nil, fmt.Errorf("invalid %s reference %q: %w", TransportName, s, err)
	}
	return newReference(root, reference.TagNameOnly(named), "")
}

// NewReference returns a reference to the image named (normalized, with
// :latest added when it has no tag or digest) or, when named is nil, to the
// image whose ID is id, in the store at root ("" for DefaultRoot).
func NewReference(root string, named reference.Named, id digest.Digest) (types.ImageReference, error) {
	if root == "" {
		root = DefaultRoot
	}
	if named != nil {
		named = reference.TagNameOnly(named)
	}
	return newReference(root, named, id)
}

func newReference(root string, named reference.Named, id digest.Digest) (types.ImageReference, error) {
	if (named == nil) == (id == "") {
		return nil, errors.New("a docker-storage reference needs exactly one of a name and an image ID")
	}
	if id != "" {
		if err := id.Validate(); err != nil {
			return nil, fmt.Errorf("invalid image ID %q: %w", id, err)
		}
	}
	if named != nil {
		_, tagged := named.(reference.NamedTagged)
		_, digested := named.(reference.Canonical)
		if tagged && digested {
			return nil, fmt.Errorf("invalid %s reference %s: both a tag and a digest", TransportName, named)
		}
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("resolving store root %s: %w", root, err)
	}
	if strings.Contains(abs, ":") {
		return nil, fmt.Errorf("invalid store root %q: it contains ':', which would end ROOT early", root)
	}
	return storageReference{root: abs, named: named, id: id}, nil
}

// Transport returns the docker-storage transport.
func (ref storageReference) Transport() types.ImageTransport { return Transport }

// StringWithinTransport returns ROOT:NAME or ROOT:@ID with ROOT absolute
// and NAME normalized, which ParseReference reads back to an equal
// reference.
func (ref storageReference) StringWithinTransport() string {
	if ref.named != nil {
		return ref.root + ":" + ref.named.String()
	}
	return ref.root + ":@" + ref.id.String()
}

// DockerReference returns the normalized name, or nil for a reference by
// image ID: an ID says nothing of where the image came from.
func (ref storageReference) DockerReference() reference.Named { return ref.named }

// PolicyConfigurationIdentity returns the normalized name, as docker: and
// docker-daemon: do, so that one policy.json scope such as
// "docker.io/library/nginx" means the same image whichever of them reads
// it. The ROOT is deliberately not part of it: the store is a cache of
// images that came from somewhere, and what policy is about is where.
// A reference by ID has no identity (""), so only the transport's default
// policy applies to it, as with docker-daemon:.
func (ref storageReference) PolicyConfigurationIdentity() string {
	if ref.named == nil {
		return ""
	}
	res, err := policyconfiguration.DockerReferenceIdentity(ref.named)
	if res == "" || err != nil { // newReference refuses the only failing cases.
		panic(fmt.Sprintf("internal inconsistency: policyconfiguration.DockerReferenceIdentity returned %#v, %v", res, err))
	}
	return res
}

// PolicyConfigurationNamespaces returns the repository and its parent
// namespaces, from most to least specific, then the wildcarded domains:
// the same list docker: uses. None for a reference by ID.
func (ref storageReference) PolicyConfigurationNamespaces() []string {
	if ref.named == nil {
		return nil
	}
	return policyconfiguration.DockerReferenceNamespaces(ref.named)
}

// NewImage returns a types.ImageCloser for the image; the caller must Close
// it. It does no signature verification.
func (ref storageReference) NewImage(ctx context.Context, sys *types.SystemContext) (types.ImageCloser, error) {
	return refimage.New(ctx, sys, ref)
}

// NewImageSource opens the store read-only and returns a source for the
// image; the caller must Close it.
func (ref storageReference) NewImageSource(ctx context.Context, sys *types.SystemContext) (types.ImageSource, error) {
	return newImageSource(ctx, ref)
}

// NewImageDestination always fails: the store belongs to the Docker Engine,
// and writing it behind the daemon's back would corrupt its state.
func (ref storageReference) NewImageDestination(ctx context.Context, sys *types.SystemContext) (types.ImageDestination, error) {
	return nil, fmt.Errorf("%s:%s: the %s transport is read-only; load images into Docker with docker load or docker pull", TransportName, ref.StringWithinTransport(), TransportName)
}

// DeleteImage always fails, for the reason NewImageDestination does.
func (ref storageReference) DeleteImage(ctx context.Context, sys *types.SystemContext) error {
	return fmt.Errorf("%s:%s: the %s transport is read-only; delete images with docker rmi", TransportName, ref.StringWithinTransport(), TransportName)
}
