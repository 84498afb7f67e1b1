package layout

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// fallbackTagList returns the referrers that e, the index.json entry named
// with subject's fallback tag ("sha256-<hex>"), lists, and whether e is a
// referrers index at all. The name is an ordinary image name too, so a
// user may have tagged an image with it; such an image is never read as a
// list of referrers, nor rewritten (a user's name is never taken over).
//
// e is a referrers index when it is ours (it carries AnnotationSubject
// naming subject, as writeReferrersTag writes it), or when it is an index
// that another tool (oras, regclient) could have written as one: it lists
// nothing, or every descriptor it lists carries an artifactType (as the
// distribution spec's referrers list does, and a multi-arch image's does
// not), or one manifest it lists has subject as its subject. Anything else,
// including an index that cannot be read, is the user's.
func (l *Layout) fallbackTagList(ctx context.Context, e imgspecv1.Descriptor, subject digest.Digest) (*imgspecv1.Index, bool, error) {
	if e.Annotations[AnnotationSubject] == subject.String() {
		list, err := l.readIndexBlob(ctx, e)
		if err != nil {
			return nil, false, fmt.Errorf("reading referrers tag %s: %w", entryName(e), err)
		}
		return list, true, nil
	}
	if !isIndexMediaType(e.MediaType) {
		return nil, false, nil
	}
	list, err := l.readIndexBlob(ctx, e)
	if err != nil {
		return nil, false, nil
	}
	typed := true
	for _, d := range list.Manifests {
		if d.ArtifactType == "" {
			typed = false
		}
	}
	if typed {
		return list, true, nil
	}
	for _, d := range list.Manifests {
		if d.Size > maxManifestSize {
			continue
		}
		data, err := l.ReadBlob(ctx, d.Digest, d.Size)
		if err != nil {
			continue
		}
		var m struct {
			Subject *imgspecv1.Descriptor `json:"subject"`
		}
		if json.Unmarshal(data, &m) == nil && m.Subject != nil && m.Subject.Digest == subject {
			return list, true, nil
		}
	}
	return nil, false, nil
}
