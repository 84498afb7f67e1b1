package layout

import (
	"context"
	"strings"

	"github.com/ocilayout/ocilayout/layout/internal/indexjson"
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Image is the entry a selector chose in index.json, with what the same
// read of index.json says of referrers: an ImageSource serves an image,
// and its signatures, as they were when it was opened, and reads
// index.json once for both (issue 15: at 100,000 entries each read is
// 21 MB; a copy's signatures were a second read, and one more for each
// instance of an index).
//
// It embeds the Layout, so that blobs are read as from the Layout, but its
// Referrers are those of that read, not of index.json now.
type Image struct {
	*Layout
	// Descriptor is the chosen entry, as Lookup returns it.
	Descriptor imgspecv1.Descriptor
	// referrers are the entries that may name a referrer: those marked
	// with a subject, and those named like a fallback tag. A layout of
	// tags holds none.
	referrers []imgspecv1.Descriptor
}

// LookupImage is Lookup, keeping from the same read what Image.Referrers
// needs.
func (l *Layout) LookupImage(ctx context.Context, sel Selector) (*Image, error) {
	s, idx, err := l.scanIndex(ctx)
	if err != nil {
		return nil, err
	}
	desc, err := l.lookupIn(ctx, s, idx, sel)
	if err != nil {
		return nil, err
	}
	return &Image{Layout: l, Descriptor: desc, referrers: referrerEntries(s, idx)}, nil
}

// Referrers is Layout.Referrers as of the read of index.json that
// LookupImage made. A fallback tag's index is read now: a blob, which
// nothing rewrites, and which gc keeps while the caller holds a read
// lease taken before LookupImage (as an ImageSource does).
func (im *Image) Referrers(ctx context.Context, subject digest.Digest, artifactType string) ([]imgspecv1.Descriptor, error) {
	return im.referrersFrom(ctx, im.referrers, subject, artifactType)
}

// referrerEntries returns, decoded, the entries of index.json (scanned
// or, when it could not be, decoded) that referrersFrom may take: marked
// with a subject, or named like a fallback tag ("sha256-…").
func referrerEntries(s *indexjson.Scanned, idx *imgspecv1.Index) []imgspecv1.Descriptor {
	var out []imgspecv1.Descriptor
	if s == nil {
		for _, e := range idx.Manifests {
			if e.Annotations[AnnotationSubject] != "" || fallbackTagLike(entryName(e)) {
				out = append(out, e)
			}
		}
		return out
	}
	for i, e := range s.Entries {
		if e.Subject != (indexjson.Str{}) || fallbackTagLike(s.Str(e.Name)) {
			out = append(out, s.Detached(i))
		}
	}
	return out
}

// fallbackTagLike reports whether name has the form referrersTag gives a
// digest: ALGORITHM-ENCODED. The length comes first: a name shorter than
// a sha256 one is not read at all, which at 100,000 entries is 100,000
// cache misses saved.
func fallbackTagLike(name string) bool {
	if len(name) < len("sha256-")+64 {
		return false
	}
	alg, enc, ok := strings.Cut(name, "-")
	return ok && digest.Algorithm(alg).Available() && digest.NewDigestFromEncoded(digest.Algorithm(alg), enc).Validate() == nil
}
