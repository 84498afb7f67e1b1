package referrers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/distribution/reference"
	"github.com/ocilayout/ocilayout/internal/registryclient"
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/types"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"
)

// SourceRegistry is the Source of a referrer a registry listed: through
// the referrers API, or its subject's fallback tag where the registry has
// no such API (oras-go tries the first and falls back to the second).
const SourceRegistry = "registry"

// ListRegistry returns the manifest ref names (by digest, else by tag,
// "latest" without either) in its repository, and its referrers, as List
// does for a layout and 'oras discover' for a registry: those the registry
// lists (SourceRegistry), then cosign's tags of it (SourceCosignTag); of
// artifactType only unless it is "", and with recursive each with its own
// referrers, of any type. The registry is reached with the settings of sys
// as the docker transport would be (see registryclient.PullRepository: a
// mirror registries.conf gives it first): the credentials, certificates,
// TLS choice and registries.conf entries the user gave copy.
func ListRegistry(ctx context.Context, ref reference.Named, sys *types.SystemContext, artifactType string, recursive bool) (imgspecv1.Descriptor, []Referrer, error) {
	repo, err := registryclient.PullRepository(ctx, ref, sys)
	if err != nil {
		return imgspecv1.Descriptor{}, nil, err
	}
	name := registryclient.Target(ref)
	subject, err := repo.Resolve(ctx, name)
	if err != nil {
		return imgspecv1.Descriptor{}, nil, fmt.Errorf("finding %s in %s: %w", name, ref.Name(), err)
	}
	subject = imgspecv1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}
	rs, err := listRemote(ctx, repo, subject, artifactType, recursive, map[digest.Digest]bool{subject.Digest: true})
	if err != nil {
		return imgspecv1.Descriptor{}, nil, fmt.Errorf("listing the referrers of %s in %s: %w", subject.Digest, ref.Name(), err)
	}
	return subject, rs, nil
}

// manifestArtifactType is the artifactType the manifest d names.
func manifestArtifactType(ctx context.Context, repo *remote.Repository, d imgspecv1.Descriptor) (string, error) {
	if d.Size > maxManifest {
		return "", nil
	}
	data, err := content.FetchAll(ctx, repo, d)
	if err != nil {
		return "", fmt.Errorf("reading referrer %s: %w", d.Digest, err)
	}
	var m struct {
		ArtifactType string `json:"artifactType"`
	}
	if json.Unmarshal(data, &m) != nil {
		return "", nil
	}
	return m.ArtifactType, nil
}

func listRemote(ctx context.Context, repo *remote.Repository, subject imgspecv1.Descriptor, artifactType string, recursive bool, path map[digest.Digest]bool) ([]Referrer, error) {
	c := collector{artifactType: artifactType}
	add := c.add
	err := repo.Referrers(ctx, subject, "", func(page []imgspecv1.Descriptor) error {
		for _, d := range page {
			if d.ArtifactType == "" || d.ArtifactType == imgspecv1.MediaTypeEmptyJSON {
				// Some registries (go-containerregistry's) answer the
				// config's media type even for a manifest that has an
				// artifactType: the manifest says what it is.
				at, err := manifestArtifactType(ctx, repo, d)
				if err != nil {
					return err
				}
				if at != "" {
					d.ArtifactType = at
				}
			}
			add(d, SourceRegistry, "")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, s := range cosignSuffixes {
		tag := CosignTag(subject.Digest, s)
		d, err := repo.Resolve(ctx, tag)
		if errors.Is(err, errdef.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("resolving %s: %w", tag, err)
		}
		if d.ArtifactType == "" {
			d.ArtifactType = CosignArtifactType(s)
		}
		add(d, SourceCosignTag, tag)
	}
	out := c.out
	if !recursive {
		return out, nil
	}
	for i := range out {
		d := out[i].Digest
		if path[d] {
			continue // a cycle can only come from a forged graph
		}
		path[d] = true
		if out[i].Referrers, err = listRemote(ctx, repo, out[i].Descriptor, "", true, path); err != nil {
			return nil, err
		}
		delete(path, d)
	}
	return out, nil
}
