package layout

import (
	"context"
	"iter"
	"runtime"
	"strings"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Names reads index.json and returns its named entries (those with an
// org.opencontainers.image.ref.name), in order: each name with a
// descriptor that holds only the entry's Digest and, of its annotations,
// those of keys it has with a value ("" counts as absent; Annotations is
// nil when it has none of them).
//
// It is for a caller that needs every name but little else of each
// entry (sync compares them against a source's tags): at 100,000 entries
// decoding the index whole (Index) costs about 150 MiB and 0.5 s, where
// Names decodes only the entries whose text holds one of keys (or an
// escape, which could spell one if the scanner ever took escaped keys;
// today it leaves them to the full decode), and returns strings of their own, so
// that what the caller keeps does not hold the index's text alive. The
// whole text is still read and checked, so a broken index.json is refused
// as Index refuses it. AnnotationSubject and AnnotationSubjectRoot are
// found without decoding.
func (l *Layout) Names(ctx context.Context, keys ...string) (iter.Seq2[string, imgspecv1.Descriptor], error) {
	s, idx, err := l.scanIndex(ctx)
	if err != nil {
		return nil, err
	}
	if s != nil && len(s.Text) >= largeIndex {
		// What Scan allocated beside the text (a split scan's second
		// slice of entries; platforms of shapes the quick path leaves to
		// encoding/json, 35 MB at 100,000 entries before it took the
		// common ones) is garbage, but the collector would only notice
		// once the heap had doubled again, while the caller copies names
		// out: collecting it first keeps the peak at the text and the
		// names (as readAllSized does before it reads). A no-op re-sync
		// of 100,000 names peaks 2–3 MiB lower with it.
		runtime.GC()
	}
	if s == nil {
		return func(yield func(string, imgspecv1.Descriptor) bool) {
			for _, e := range idx.Manifests {
				if name := entryName(e); name != "" && !yield(strings.Clone(name), imgspecv1.Descriptor{Digest: digest.Digest(strings.Clone(string(e.Digest))), Annotations: pick(e.Annotations, keys)}) {
					return
				}
			}
		}, nil
	}
	var decode []string // the keys Scan does not find
	for _, k := range keys {
		if k != AnnotationSubject && k != AnnotationSubjectRoot {
			decode = append(decode, k)
		}
	}
	return func(yield func(string, imgspecv1.Descriptor) bool) {
		var last digest.Digest
		for i, e := range s.Entries {
			name := s.Str(e.Name)
			if name == "" {
				continue
			}
			// Apart, so that a caller may keep the name and share one
			// string for a digest many names hold; a digest the entry
			// before held too (the names a sync gave one image) is not
			// copied again.
			name = strings.Clone(name)
			if d := s.Str(e.Digest); d != string(last) {
				last = digest.Digest(strings.Clone(d))
			}
			desc := imgspecv1.Descriptor{Digest: last}
			for _, k := range keys {
				var v string
				switch k {
				case AnnotationSubject:
					v = s.Str(e.Subject)
				case AnnotationSubjectRoot:
					v = s.Str(e.SubjectRoot)
				default:
					continue
				}
				if v != "" {
					desc.Annotations = setAnnotation(desc.Annotations, k, strings.Clone(v))
				}
			}
			if raw := s.Text[e.Start:e.End]; len(decode) > 0 && (strings.IndexByte(raw, '\\') >= 0 || containsAny(raw, decode)) {
				for k, v := range pick(s.Entry(i).Annotations, decode) {
					desc.Annotations = setAnnotation(desc.Annotations, k, v)
				}
			}
			if !yield(name, desc) {
				return
			}
		}
	}, nil
}

// pick is the entries of m whose key is one of keys and whose value is
// not "", in strings of their own; nil when there is none.
func pick(m map[string]string, keys []string) map[string]string {
	var out map[string]string
	for _, k := range keys {
		if v := m[k]; v != "" {
			out = setAnnotation(out, k, strings.Clone(v))
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
