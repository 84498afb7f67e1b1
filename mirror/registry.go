package mirror

import (
	"context"
	"fmt"
	"sync"

	"github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/docker"
	dockerref "go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/types"
)

// The registry side of a sync: the only requests it makes outside
// copy.Image are one tag list per repository and one manifest HEAD per
// image it has to compare.

// parseRepository reads a source repository, REG/REPO[:TAG|@DIGEST].
func parseRepository(s string) (dockerref.Named, error) {
	ref, err := dockerref.ParseNormalizedNamed(s)
	if err != nil {
		return nil, fmt.Errorf("invalid repository %q: %w", s, err)
	}
	return ref, nil
}

// listTags lists the tags of repo, one request (or one per page).
func listTags(ctx context.Context, sys *types.SystemContext, repo dockerref.Named) ([]string, error) {
	// NewReference refuses a name without tag; GetRepositoryTags ignores it.
	ref, err := docker.NewReference(dockerref.TagNameOnly(repo))
	if err != nil {
		return nil, err
	}
	tags, err := docker.GetRepositoryTags(ctx, sys, ref)
	if err != nil {
		return nil, fmt.Errorf("listing the tags of %s: %w", repo.Name(), err)
	}
	return tags, nil
}

// withTagOrDigest is repo:tag, or repo@digest when s parses as a digest
// (skopeo sync YAML's images lists both).
func withTagOrDigest(repo dockerref.Named, s string) (dockerref.Named, error) {
	if d, err := digest.Parse(s); err == nil {
		return dockerref.WithDigest(repo, d)
	}
	return dockerref.WithTag(repo, s)
}

// listInstance reads the manifest ref names (one manifest GET for a
// registry, nothing remote for a layout) and, when it is a list or index,
// returns the digest of the instance copy.Image picks for sys's platform
// without --all: that instance, not the list, is what a destination holds
// after such a copy. isList is false for a single image. The source is
// returned open, its manifest read: if the image is to be copied after
// all, copy.Image reuses it (see reusedSource) instead of a second GET.
func listInstance(ctx context.Context, sys *types.SystemContext, ref types.ImageReference) (d digest.Digest, src *reusedSource, err error) {
	src, err = openRead(ctx, sys, ref)
	if err != nil {
		return "", nil, err
	}
	if !src.isList {
		return "", src, nil
	}
	list, err := manifest.ListFromBlob(src.raw, src.mediaType)
	if err != nil {
		src.close()
		return "", nil, err
	}
	d, err = list.ChooseInstance(sys)
	return d, src, err
}

// openRead opens ref and reads its manifest (one manifest GET for a
// registry), the one copy.Image then reads from the open source (a docker
// source keeps the manifest it read), so that the digest of what is
// copied is known whatever the tag does meanwhile.
func openRead(ctx context.Context, sys *types.SystemContext, ref types.ImageReference) (*reusedSource, error) {
	if r, ok := ref.(*reusedSource); ok {
		ref = r.ImageReference
	}
	src, err := ref.NewImageSource(ctx, sys)
	if err != nil {
		return nil, err
	}
	raw, mt, err := src.GetManifest(ctx, nil)
	if err != nil {
		src.Close()
		return nil, err
	}
	d, err := manifest.Digest(raw)
	if err != nil {
		src.Close()
		return nil, err
	}
	return &reusedSource{ImageReference: ref, open: src, raw: raw, mediaType: mt, digest: d, isList: manifest.MIMETypeIsMultiImage(mt)}, nil
}

// reusedSource is a reference whose first NewImageSource returns an
// already open source (whose manifest it has read), so that deciding
// whether to copy and copying cost one manifest GET together; later calls
// (retries) open a new source.
type reusedSource struct {
	types.ImageReference
	mu   sync.Mutex
	open types.ImageSource

	raw       []byte        // the manifest read
	mediaType string        // its media type
	digest    digest.Digest // its digest
	isList    bool          // it is a list or index
}

func (r *reusedSource) NewImageSource(ctx context.Context, sys *types.SystemContext) (types.ImageSource, error) {
	r.mu.Lock()
	src := r.open
	r.open = nil
	r.mu.Unlock()
	if src != nil {
		return src, nil
	}
	return r.ImageReference.NewImageSource(ctx, sys)
}

// fresh reports whether the open source has not been taken yet.
func (r *reusedSource) fresh() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.open != nil
}

// close closes the open source if copy.Image did not take it.
func (r *reusedSource) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.open != nil {
		r.open.Close()
		r.open = nil
	}
}
