// Package dockerstorage is a read-only containers/image transport,
// "docker-storage:", over a Docker Engine's on-disk image store
// (/var/lib/docker), read without a running daemon: the classic graph-driver
// store (overlay2, vfs), whose layers are reassembled with tar-split so that
// each one hashes to its DiffID, and the containerd image store, whose
// original blobs are served as they are.
//
// Nothing under the store's root is ever written, locked or chmod'ed: every
// file is opened read-only through an os.Root on that directory, so a store
// on a read-only mount, in a disk image or of a daemon that will not start
// is a normal source.
//
// Importing the package registers the transport (as containers/image's own
// transports do); the ocilayout CLI links it:
//
//	import _ "github.com/ocilayout/ocilayout/dockerstorage"
package dockerstorage

import (
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/transports"
	"go.podman.io/image/v5/types"
)

// TransportName is the name the transport is registered under.
const TransportName = "docker-storage"

// DefaultRoot is the store read when a reference names no ROOT: the Docker
// Engine's default --data-root.
const DefaultRoot = "/var/lib/docker"

func init() {
	transports.Register(Transport)
}

// Transport is the docker-storage: transport, for callers that parse
// references or validate policy scopes without the transports registry.
var Transport types.ImageTransport = storageTransport{}

type storageTransport struct{}

// Name returns the name the transport is registered under.
func (storageTransport) Name() string { return TransportName }

// ParseReference parses [ROOT:]NAME[:TAG] or [ROOT:]@sha256:<image-id>
// (without the "docker-storage:" prefix); see ParseReference.
func (storageTransport) ParseReference(s string) (types.ImageReference, error) {
	return ParseReference(s)
}

// ValidatePolicyConfigurationScope checks a transports.docker-storage key of
// policy.json. Scopes are Docker repository namespaces, exactly as for the
// docker: and docker-daemon: transports (identities are the images'
// normalized names, so "docker.io/library/nginx", "docker.io/library",
// "docker.io" and "*.io" are the scopes that can match nginx). Image IDs
// cannot be namespaced, so an algo:digest scope is refused, as docker-daemon:
// does; so is anything that is not a Docker name, a registry host or a
// "*.domain" wildcard, which would never match and hide a typo.
func (storageTransport) ValidatePolicyConfigurationScope(scope string) error {
	if _, err := digest.Parse(scope); err == nil {
		return fmt.Errorf("%s: cannot use algo:digest value %s as a namespace", TransportName, scope)
	}
	if scope == "" {
		return fmt.Errorf("%s: an empty scope is the transport's default, not a namespace", TransportName)
	}
	// reference.Parse checks the grammar without normalizing, which is
	// what a namespace needs ("docker.io/library" is not a repository).
	name := scope
	if rest, ok := strings.CutPrefix(scope, "*."); ok {
		name = rest
	}
	if _, err := reference.Parse(name); err != nil {
		return fmt.Errorf("%s: invalid scope %q: it must be a fully qualified repository or namespace like docker.io/library/nginx: %w", TransportName, scope, err)
	}
	return nil
}
