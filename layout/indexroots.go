package layout

import (
	"context"
	"strings"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// indexRoots returns the entries of index.json as the walker (verify,
// gc) needs them: media type, digest and size, from the scanned text; an
// entry that lists urls (a foreign manifest, which the walker does not
// expect in the layout) is decoded whole. At 100,000 entries decoding
// them all was most of verify's and gc's memory (109 and 113 MiB), each
// entry's annotations a map of its own.
//
// plain reports that no entry can be a referrer (mayBeReferrer). Then no
// entry is an orphaned referrer (orphanReferrers finds none without
// reading a blob), and gc needs nothing but the roots; otherwise it
// decodes the index as before.
func (l *Layout) indexRoots(ctx context.Context) (roots []imgspecv1.Descriptor, plain bool, err error) {
	s, idx, err := l.scanIndex(ctx)
	if err != nil {
		return nil, false, err
	}
	if s == nil {
		return idx.Manifests, false, nil
	}
	roots = make([]imgspecv1.Descriptor, len(s.Entries))
	plain = true
	for i, e := range s.Entries {
		if strings.Contains(s.Text[e.Start:e.End], `"urls"`) {
			roots[i] = s.Entry(i)
		} else {
			roots[i].MediaType, roots[i].Size = s.TypeAndSize(i)
			roots[i].Digest = digest.Digest(s.Str(e.Digest))
		}
		plain = plain && !mayBeReferrer(s.Str(e.Name), s.Str(e.Subject), s.Str(e.SubjectRoot))
	}
	return roots, plain, nil
}
