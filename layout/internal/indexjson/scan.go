package indexjson

import (
	"math"
	"math/bits"
	"strings"

	"github.com/opencontainers/go-digest"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Scan is for an index.json too large to decode whole for every use (issue
// 15: 100,000 entries, 29 MB, 150 MiB and 0.2 s to decode). Resolving one
// name needs one entry decoded, adding a tag none: so Scan checks the whole
// text exactly as Decode's fast path does (the same parser, so the same
// inputs are accepted), but builds no descriptor; it returns where each
// entry lies in the text and the few fields entries are looked up by. An
// entry is decoded only when asked for (Scanned.Entry), and a writer that
// changes a few entries writes the others back as the text they were read
// as (Splice). FuzzScan checks that whatever Scan accepts, Decode decodes
// to the same entries.

// Entry is one descriptor of index.json's manifests as Scan finds it. It
// holds no pointers, so that 100,000 of them cost the garbage collector
// nothing to scan.
type Entry struct {
	// Start and End delimit the descriptor's object in Scanned.Text.
	Start, End int32
	// The descriptor's digest and its annotations
	// org.opencontainers.image.ref.name, AnnotationSubject and
	// AnnotationSubjectRoot (Scanned.Str gives their values).
	Digest, Name, Subject, SubjectRoot Str
	// NameKey is NameKey of the name, taken while the scan had it at hand.
	NameKey uint32
}

// NameKey is a fingerprint of a name, for finding one among many entries:
// equal names have equal keys, and names that differ in length, in their
// first eight bytes or in their last eight almost never do. Comparing
// keys first spares a lookup the text itself: at 100,000 entries the
// names lie across 21 MB, and comparing each was a cache miss (5 ms of a
// 20 ms lookup). It reads at most 16 bytes, however long the name.
func NameKey(name string) uint32 {
	var first, last uint64
	if n := len(name); n >= 8 {
		first, last = le64(name), le64(name[n-8:])
	} else {
		for i := range n {
			first |= uint64(name[i]) << (8 * i)
		}
	}
	h := first*0x9e3779b97f4a7c15 ^ last*0xc2b2ae3d27d4eb4f ^ uint64(len(name))*0x165667b19e3779f9
	return uint32(h>>32) ^ uint32(h)
}

// le64 is the first eight bytes of s, little-endian.
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// Str is where a string value lies in Scanned.Text (Off < End: a plain
// string, taken as it is), or, for one with escapes or non-ASCII bytes,
// which of Scanned's decoded strings it is (Off < 0). The zero Str is "".
type Str struct{ Off, End int32 }

// Scanned is an index.json read by Scan.
type Scanned struct {
	Text    string
	Head    imgspecv1.Index // every field but Manifests
	Entries []Entry
	decoded []string // the Str values that are not substrings of Text
}

// Str returns the value of v.
func (s *Scanned) Str(v Str) string {
	if v.Off < 0 {
		return s.decoded[-1-v.Off]
	}
	return s.Text[v.Off:v.End]
}

// Scan reads text as Decode's fast path would, without decoding its
// entries. It returns false for anything that path leaves to
// encoding/json: the caller then calls DecodeText, which decides (and
// names what is wrong with a bad text).
func Scan(text string) (*Scanned, bool) {
	s := &Scanned{Text: text}
	p := indexParser{data: text}
	if int64(len(text)) > math.MaxInt32 {
		return nil, false
	}
	ok := p.head(&s.Head, func() bool {
		var ok bool
		s.Entries, ok = p.entries(s)
		return ok
	})
	if !ok {
		return nil, false
	}
	return s, true
}

// Entry decodes the i-th entry, as Decode would have.
func (s *Scanned) Entry(i int) imgspecv1.Descriptor {
	p := indexParser{data: s.Text, pos: int(s.Entries[i].Start)}
	d, _ := p.descriptor(nil) // Scan parsed the same text with the same grammar
	return d
}

// Detached decodes the i-th entry into strings of its own: a caller that
// keeps one entry of a large index does not keep the whole text alive.
func (s *Scanned) Detached(i int) imgspecv1.Descriptor {
	d := s.Entry(i)
	d.MediaType = strings.Clone(d.MediaType)
	d.Digest = digest.Digest(strings.Clone(string(d.Digest)))
	d.ArtifactType = strings.Clone(d.ArtifactType)
	if d.Annotations != nil {
		m := make(map[string]string, len(d.Annotations))
		for k, v := range d.Annotations {
			m[strings.Clone(k)] = strings.Clone(v)
		}
		d.Annotations = m
	}
	return d // URLs, Data and Platform are decoded by encoding/json, into copies
}

// Index decodes every entry: the Index Decode would have returned.
func (s *Scanned) Index() *imgspecv1.Index {
	idx := s.Head
	if s.Entries != nil { // nil: the text has no "manifests"
		idx.Manifests = make([]imgspecv1.Descriptor, len(s.Entries))
		for i := range s.Entries {
			idx.Manifests[i] = s.Entry(i)
		}
	}
	return &idx
}

// entries is descriptors without the descriptors.
func (p *indexParser) entries(s *Scanned) ([]Entry, bool) {
	if !p.next('[') {
		return nil, false
	}
	rest := p.data[p.pos:]
	// A descriptor of a tag takes about 200 bytes: enough room for most
	// indexes without growing (a count of "digest" would cost a fifth of
	// Scan), and never more than a fifth of the text's size.
	out := make([]Entry, 0, len(rest)/200)
	if p.next(']') {
		return out, true
	}
	p.ws()
	if n := scanParts(); n > 1 && len(rest) >= parallelScanMin {
		begin, decoded := p.pos, len(s.decoded)
		if p.entriesParallel(s, n, &out) {
			return out, true
		}
		p.pos, out, s.decoded = begin, out[:0], s.decoded[:decoded] // read in order, the text decides
	}
	whole := scanPart{from: p.pos, to: -1, entries: out}
	whole.scan(p.data, s)
	if !whole.ok {
		return nil, false
	}
	p.pos = whole.end
	return whole.entries, true
}

// entry parses the entry at the parser into k.
func (p *indexParser) entry(k *keys) bool {
	if !p.quickEntry(k) {
		start := p.pos
		if _, ok := p.descriptor(k); !ok {
			return false
		}
		k.e.Start, k.e.End = int32(start), int32(p.pos)
	}
	k.e.NameKey = NameKey(k.s.Str(k.e.Name))
	return true
}

// keys is the Entry that descriptor fills in for Scan.
type keys struct {
	s *Scanned
	e Entry
}

// str parses a string value as indexParser.str does and returns its Str.
func (k *keys) str(p *indexParser) (Str, bool) {
	p.ws()
	start := p.pos
	if v, ok := p.plain(); ok {
		if v == "" {
			return Str{}, true
		}
		return Str{Off: int32(start + 1), End: int32(p.pos - 1)}, true
	}
	v, ok := p.str()
	if !ok || v == "" {
		return Str{}, ok
	}
	if raw := p.data[start+1 : p.pos-1]; raw == v { // UTF-8 that decodes to itself
		return Str{Off: int32(start + 1), End: int32(p.pos - 1)}, true
	}
	k.s.decoded = append(k.s.decoded, v)
	return Str{Off: int32(-len(k.s.decoded))}, true
}

// annotationKeys parses an annotations object as strMap does, keeping only
// the values Entry holds; a repeated key's last value wins, as in the map.
func (p *indexParser) annotationKeys(k *keys) bool {
	return p.object(func(key string) bool {
		var f *Str
		switch key {
		case imgspecv1.AnnotationRefName:
			f = &k.e.Name
		case AnnotationSubject:
			f = &k.e.Subject
		case AnnotationSubjectRoot:
			f = &k.e.SubjectRoot
		default:
			_, ok := p.str()
			return ok
		}
		var ok bool
		*f, ok = k.str(p)
		return ok
	})
}

// isPlain reports whether plainPrefix(s) == len(s), without stopping at
// the first byte that is not plain: for a value of known length (a
// digest's hex) one test at the end costs less than a branch per word.
func isPlain(s string) bool {
	var m uint64
	for len(s) >= 8 {
		m |= notPlain(le64(s))
		s = s[8:]
	}
	return m == 0 && plainPrefix(s) == len(s)
}

// plainPrefix returns the length of the longest prefix of s holding no
// quote, backslash, control or non-ASCII byte: the plain part of a JSON
// string. It looks at eight bytes at a time, since index.json is mostly
// such strings (digests, media types, names) and this loop is most of
// Scan's time.
func plainPrefix(s string) int {
	n := len(s)
	// s is resliced rather than indexed, so that the length check of the
	// loop covers the eight loads (with s[i+7] the compiler checked each).
	for len(s) >= 8 {
		if m := notPlain(le64(s)); m != 0 {
			return n - len(s) + bits.TrailingZeros64(m)/8
		}
		s = s[8:]
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
			return n - len(s) + i
		}
	}
	return n
}

// notPlain flags the bytes of x (eight of a string, little-endian) that
// end a plain string: a byte's high bit is set in the result when it is
// below 0x20 (x-0x20 wraps), a quote or a backslash (q or b is 0 there,
// and -1 wraps) or non-ASCII (x's own high bit; q-1 and b-1 flag nothing
// else among ASCII bytes). A subtraction borrows only out of a flagged
// byte, so it may flag bytes above the first flagged one but never below:
// the lowest flag is exact, and the result is 0 exactly when all eight
// are plain.
func notPlain(x uint64) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q := x ^ (lo * '"')
	b := x ^ (lo * '\\')
	return ((x - lo*0x20) | (q - lo) | (b - lo) | x) & hi
}
