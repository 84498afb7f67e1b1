package referrers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/distribution/reference"
	"github.com/ocilayout/ocilayout/internal/registryclient"
	"github.com/ocilayout/ocilayout/layout"
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/types"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
)

// target is what Copy needs of either side: oras-go's graph target (a
// content store that finds a node's referrers, with tags).
type target interface {
	oras.GraphTarget
}

// Endpoint is one side of Copy: a layout or a registry repository.
type Endpoint struct {
	name   string
	target target
	layout *layoutStore // nil for a registry
}

// String names the endpoint in errors.
func (e *Endpoint) String() string { return e.name }

// Layout is the endpoint of an open layout. Copying into it needs l opened
// with layout.Create.
func Layout(l *layout.Layout, name string) *Endpoint {
	s := &layoutStore{l: l}
	return &Endpoint{name: name, target: s, layout: s}
}

// Registry is the endpoint of repository ref (its tag or digest is
// ignored), reached with the settings of sys as the docker transport
// would be: see registryclient.Repository.
func Registry(ctx context.Context, ref reference.Named, sys *types.SystemContext) (*Endpoint, error) {
	repo, err := registryclient.Repository(ctx, ref, sys)
	if err != nil {
		return nil, err
	}
	return &Endpoint{name: ref.Name(), target: repo}, nil
}

// RegistrySource is the endpoint ref's referrers are read from: its
// repository, or the first of the mirrors registries.conf gives it that
// holds ref's tag or digest, as copy.Image would pull the image (see
// registryclient.PullRepository). Registry is the endpoint to write to.
func RegistrySource(ctx context.Context, ref reference.Named, sys *types.SystemContext) (*Endpoint, error) {
	repo, err := registryclient.PullRepository(ctx, ref, sys)
	if err != nil {
		return nil, err
	}
	return &Endpoint{name: ref.Name(), target: repo}, nil
}

// Result says what Copy carried.
type Result struct {
	// Referrers are the referrer manifests of the graph (each once), in
	// the order they were found.
	Referrers []imgspecv1.Descriptor `json:"referrers"`
	// Tags are the cosign attachment tags carried.
	Tags []string `json:"tags"`
}

// Copy carries the referrers of subject (a manifest both src and dst hold;
// for an index, of its instances too) from src to dst: every referrer,
// recursively (a signature of an SBOM), with its blobs, digest for digest,
// and cosign's "sha256-HEX.sig/.att/.sbom" tags of any node of the graph,
// as tags. Into a layout everything is recorded in one index transaction
// at the end, under a WriteLease taken for the copy; into a registry
// oras-go uses the referrers API or, without it, updates the fallback tag.
func Copy(ctx context.Context, src, dst *Endpoint, subject digest.Digest) (*Result, error) {
	res := &Result{Referrers: []imgspecv1.Descriptor{}, Tags: []string{}}
	if dst.layout != nil {
		lease, err := dst.layout.l.AcquireWriteLease(ctx)
		if err != nil {
			return nil, err
		}
		defer lease.Release()
	}
	root, err := src.target.Resolve(ctx, subject.String())
	if err != nil {
		return nil, fmt.Errorf("finding %s in %s: %w", subject, src, err)
	}
	nodes, err := instances(ctx, src.target, dst.target, root)
	if err != nil {
		return nil, err
	}
	seen := map[digest.Digest]bool{}
	for _, n := range nodes {
		graph, err := referrerGraph(ctx, src.target, n)
		if err != nil {
			return nil, fmt.Errorf("listing the referrers of %s in %s: %w", n.Digest, src, err)
		}
		if len(graph) > 0 {
			if err := oras.ExtendedCopyGraph(ctx, src.target, dst.target, n, oras.ExtendedCopyGraphOptions{}); err != nil {
				return nil, fmt.Errorf("copying the referrers of %s from %s to %s: %w", n.Digest, src, dst, err)
			}
		}
		for _, r := range graph {
			if !seen[r.Digest] {
				seen[r.Digest] = true
				res.Referrers = append(res.Referrers, r)
			}
		}
		for _, g := range append([]imgspecv1.Descriptor{n}, graph...) {
			tags, err := copyCosignTags(ctx, src, dst, g.Digest)
			if err != nil {
				return nil, err
			}
			res.Tags = append(res.Tags, tags...)
		}
	}
	if dst.layout != nil {
		if err := dst.layout.commit(ctx); err != nil {
			return nil, fmt.Errorf("recording referrers in %s: %w", dst, err)
		}
	}
	return res, nil
}

// instances are root and, for an index, the instances (at any depth) that
// dst holds: copy without --all takes only some.
func instances(ctx context.Context, src, dst target, root imgspecv1.Descriptor) ([]imgspecv1.Descriptor, error) {
	out := []imgspecv1.Descriptor{root}
	if !isIndexType(root.MediaType) {
		return out, nil
	}
	data, err := content.FetchAll(ctx, src, root)
	if err != nil {
		return nil, fmt.Errorf("reading index %s: %w", root.Digest, err)
	}
	var idx imgspecv1.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("decoding index %s: %w", root.Digest, err)
	}
	for _, c := range idx.Manifests {
		ok, err := dst.Exists(ctx, c)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		more, err := instances(ctx, src, dst, c)
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
	}
	return out, nil
}

// referrerGraph lists n's referrers recursively, breadth first.
func referrerGraph(ctx context.Context, src target, n imgspecv1.Descriptor) ([]imgspecv1.Descriptor, error) {
	var out []imgspecv1.Descriptor
	seen := map[digest.Digest]bool{n.Digest: true}
	queue := []imgspecv1.Descriptor{n}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		ps, err := src.Predecessors(ctx, cur)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if seen[p.Digest] {
				continue
			}
			seen[p.Digest] = true
			out = append(out, p)
			queue = append(queue, p)
		}
	}
	return out, nil
}

// copyCosignTags carries the cosign tags of d that src has.
func copyCosignTags(ctx context.Context, src, dst *Endpoint, d digest.Digest) ([]string, error) {
	var tags []string
	for _, s := range cosignSuffixes {
		tag := CosignTag(d, s)
		desc, err := src.target.Resolve(ctx, tag)
		if errors.Is(err, errdef.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("resolving %s in %s: %w", tag, src, err)
		}
		if err := oras.CopyGraph(ctx, src.target, dst.target, desc, oras.CopyGraphOptions{}); err != nil {
			return nil, fmt.Errorf("copying %s from %s to %s: %w", tag, src, dst, err)
		}
		if err := dst.target.Tag(ctx, desc, tag); err != nil {
			return nil, fmt.Errorf("tagging %s in %s: %w", tag, dst, err)
		}
		tags = append(tags, tag)
	}
	return tags, nil
}
