package layout

import (
	"context"
	"strings"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// IndexEntries reads index.json and calls fn with each of its entries, in
// order, reduced to what a caller that indexes every name needs: d holds
// the entry's media type, digest and size, and of its annotations those
// of keys it has with a value ("" counts as absent; Annotations is nil
// when it has none of them); its other fields are left zero. name is its
// ref.name annotation and subject its AnnotationSubject, "" when absent.
// On an index.json Index would decode whole, this decodes no descriptor
// and builds no annotations map, but for an entry whose text holds one of
// keys other than the subject ones (or an escape, which could spell one):
// at 100,000 names it takes under half of Index's time and allocates a
// third as much, the text and the scan's 7 MB against 85 MB
// (BenchmarkIndexAtScale, index-entries against full-decode). A broken
// index.json is refused as Index refuses it; a valid one that the fast
// scan does not take is decoded whole and reduced the same way, so fn
// sees the same values either way.
//
// serve builds its snapshot with it, sync the names a layout holds (with
// their sync.source-digest), list its table. The strings fn receives are
// substrings of index.json's text, which stays in memory while any of
// them is kept: a caller that keeps them past the call, and wants the
// text collected, copies them (strings.Clone).
func (l *Layout) IndexEntries(ctx context.Context, fn func(d imgspecv1.Descriptor, name, subject string), keys ...string) error {
	s, idx, err := l.scanIndex(ctx)
	if err != nil {
		return err
	}
	if s == nil {
		for _, e := range idx.Manifests {
			d := imgspecv1.Descriptor{MediaType: e.MediaType, Digest: e.Digest, Size: e.Size, Annotations: pick(e.Annotations, keys)}
			fn(d, entryName(e), e.Annotations[AnnotationSubject])
		}
		return nil
	}
	var decode []string // the asked keys Scan does not find
	for _, k := range keys {
		if k != AnnotationSubject && k != AnnotationSubjectRoot {
			decode = append(decode, k)
		}
	}
	for i, e := range s.Entries {
		var d imgspecv1.Descriptor
		d.MediaType, d.Size = s.TypeAndSize(i)
		d.Digest = digest.Digest(s.Str(e.Digest))
		for _, k := range keys {
			v := ""
			switch k {
			case AnnotationSubject:
				v = s.Str(e.Subject)
			case AnnotationSubjectRoot:
				v = s.Str(e.SubjectRoot)
			}
			if v != "" {
				d.Annotations = setAnnotation(d.Annotations, k, v)
			}
		}
		if raw := s.Text[e.Start:e.End]; len(decode) > 0 && (strings.IndexByte(raw, '\\') >= 0 || containsAny(raw, decode)) {
			for k, v := range pick(s.Entry(i).Annotations, decode) {
				d.Annotations = setAnnotation(d.Annotations, k, v)
			}
		}
		fn(d, s.Str(e.Name), s.Str(e.Subject))
	}
	return nil
}

// pick is the entries of m whose key is one of keys and whose value is
// not ""; nil when there is none.
func pick(m map[string]string, keys []string) map[string]string {
	var out map[string]string
	for _, k := range keys {
		if v := m[k]; v != "" {
			out = setAnnotation(out, k, v)
		}
	}
	return out
}

func setAnnotation(m map[string]string, k, v string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// EachEntry reads index.json and calls fn with each of its entries, in
// order, decoded whole, one at a time: what Index gives, for a caller that
// needs whole descriptors (list --json prints platforms) but not all of
// them at once. At 100,000 entries Index's descriptors and their
// annotation maps are 85 MB held together; here each is garbage once fn
// returns. An error from fn ends the reading and is returned.
func (l *Layout) EachEntry(ctx context.Context, fn func(imgspecv1.Descriptor) error) error {
	s, idx, err := l.scanIndex(ctx)
	if err != nil {
		return err
	}
	if s == nil {
		for _, e := range idx.Manifests {
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	}
	for i := range s.Entries {
		if err := fn(s.Entry(i)); err != nil {
			return err
		}
	}
	return nil
}
