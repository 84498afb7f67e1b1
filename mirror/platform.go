package mirror

import (
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/manifest"
)

// Platforms (Options.Platforms): a list is copied as a list of the
// instances of the platforms asked for. copy.Image's InstancePlatforms
// matches OS and architecture only and fails a list that lacks one of
// them; the instances are chosen here instead, from the list the copy
// reads, so that a variant can be asked for and a list is copied with the
// platforms it has.

func platformString(p imgspecv1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// sourceKey is what annotationSourceDigest records for an image copied
// from the source manifest d: d, and the platforms asked for, since the
// list the destination holds depends on them.
func (p *plan) sourceKey(d digest.Digest) string {
	if len(p.opts.Platforms) == 0 {
		return d.String()
	}
	ps := make([]string, len(p.opts.Platforms))
	for i, pl := range p.opts.Platforms {
		ps[i] = platformString(pl)
	}
	return d.String() + " platforms=" + strings.Join(ps, ",")
}

// selectInstances returns the instances of the list raw (of media type
// mt) whose platform is one of want: same OS and architecture, and the
// same variant when one is asked for.
func selectInstances(raw []byte, mt string, want []imgspecv1.Platform) ([]digest.Digest, error) {
	list, err := manifest.ListFromBlob(raw, mt)
	if err != nil {
		return nil, err
	}
	var out []digest.Digest
	for _, d := range list.Instances() {
		inst, err := list.Instance(d)
		if err != nil {
			return nil, err
		}
		if inst.ReadOnly.Platform == nil {
			continue
		}
		got := inst.ReadOnly.Platform
		for _, w := range want {
			if got.OS == w.OS && got.Architecture == w.Architecture && (w.Variant == "" || got.Variant == w.Variant) {
				out = append(out, d)
				break
			}
		}
	}
	if len(out) == 0 {
		ps := make([]string, len(want))
		for i, w := range want {
			ps[i] = platformString(w)
		}
		return nil, fmt.Errorf("the list has no image for %s", strings.Join(ps, ", "))
	}
	return out, nil
}
