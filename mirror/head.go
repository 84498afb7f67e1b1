package mirror

import (
	"context"
	"fmt"
	"sync"

	"github.com/distribution/reference"
	"github.com/ocilayout/ocilayout/internal/registryclient"
	"github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/pkg/sysregistriesv2"
	"go.podman.io/image/v5/types"
	"oras.land/oras-go/v2/registry/remote"
)

// heads asks registries for the digest a tag names, one manifest HEAD per
// image compared, on one client per repository for the whole sync.
//
// containers/image's docker.GetDigest opens a new client per call, and a
// new client first pings GET /v2/ (and, behind token auth, fetches a
// token): a no-op re-sync of N tags cost 2N requests where N HEADs say
// all there is to know (and behind token auth, N token fetches more). The
// oras-go client of
// internal/registryclient is set up from the same SystemContext (creds,
// certificates, TLS, registries.conf insecure and blocked entries) and
// keeps its token cache across tags. Where registries.conf sends pulls
// elsewhere (mirrors, a location rewrite) or the HEAD fails, the digest is
// asked the containers/image way, which knows those rules and words the
// errors; a digest is content, so asking either way cannot make a changed
// tag look unchanged.
type heads struct {
	mu    sync.Mutex
	repos map[headKey]*remote.Repository
}

// headKey is one repository under one SystemContext (a YAML source may
// give each registry its own credentials).
type headKey struct {
	sys  *types.SystemContext
	name string
}

// digest is the digest of the manifest ref names.
func (h *heads) digest(ctx context.Context, sys *types.SystemContext, ref types.ImageReference) (digest.Digest, error) {
	if ref.Transport().Name() != docker.Transport.Name() {
		// A store on disk (docker-storage:): its manifest is built from
		// the store's metadata and read, which costs no request.
		src, err := openRead(ctx, sys, ref)
		if err != nil {
			return "", err
		}
		defer src.close()
		return src.digest, nil
	}
	if ref.DockerReference() != nil {
		if d, ok := h.direct(ctx, sys, ref.DockerReference().String()); ok {
			return d, nil
		}
	}
	return docker.GetDigest(ctx, sys, ref)
}

// direct is the HEAD on the shared client; ok is false when it does not
// apply or did not answer.
func (h *heads) direct(ctx context.Context, sys *types.SystemContext, name string) (digest.Digest, bool) {
	ref, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return "", false
	}
	repo, err := h.repository(ctx, sys, ref)
	if err != nil || repo == nil {
		return "", false
	}
	desc, err := repo.Resolve(ctx, registryclient.Target(ref))
	if err != nil || desc.Digest.Validate() != nil {
		return "", false
	}
	return desc.Digest, true
}

// repository is the shared client of ref's repository, or nil when
// registries.conf pulls it from somewhere else.
func (h *heads) repository(ctx context.Context, sys *types.SystemContext, ref reference.Named) (*remote.Repository, error) {
	key := headKey{sys, ref.Name()}
	h.mu.Lock()
	defer h.mu.Unlock()
	if repo, ok := h.repos[key]; ok {
		return repo, nil
	}
	reg, err := sysregistriesv2.FindRegistry(sys, ref.Name())
	if err != nil {
		return nil, fmt.Errorf("reading registries.conf for %s: %w", ref.Name(), err)
	}
	var repo *remote.Repository
	if reg == nil || len(reg.Mirrors) == 0 && (reg.Location == "" || reg.Location == reg.Prefix) {
		if repo, err = registryclient.Repository(ctx, ref, sys); err != nil {
			repo = nil
		}
	}
	if h.repos == nil {
		h.repos = map[headKey]*remote.Repository{}
	}
	h.repos[key] = repo
	return repo, nil
}
