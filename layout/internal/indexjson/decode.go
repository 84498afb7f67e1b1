// Package indexjson reads and writes index.json: a hand-written codec for
// the common shapes, byte-for-byte what encoding/json reads and writes.
package indexjson

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// This file reads and writes index.json without encoding/json's
// reflection on the common path. A layout with 10,000 tags has a 2.4 MB
// index.json that every tag change reads and rewrites under the lock, and
// there reflection was most of the time (issue 6: a tag added in < 50 ms).
//
// Both directions are exact, not approximate: Decode accepts only a
// strict subset of JSON (plain keys, each once, in the shapes the spec
// gives) and hands anything else whole to encoding/json, so it never
// disagrees with json.Unmarshal; Encode writes the bytes json.Marshal
// writes. FuzzIndexJSON checks both against encoding/json.

// The annotations ocilayout adds to index.json entries. They are part of
// the on-disk format, so they live with its codec; package layout
// documents their meaning (AnnotationSubject is exported there).
const (
	// AnnotationSubject marks a referrer entry with its subject's digest.
	AnnotationSubject = "io.github.ocilayout.subject"
	// AnnotationSubjectRoot marks a referrer of an instance inside an
	// index with the digest of that top-level index.
	AnnotationSubjectRoot = "io.github.ocilayout.subject-root"
)

// ValidDigest is digest.Digest.Validate with a fast path for the lowercase
// sha256 digests that fill an index; anything else goes to Validate.
func ValidDigest(d digest.Digest) error {
	s := string(d)
	if len(s) == 7+64 && s[:7] == "sha256:" {
		ok := true
		for i := 7; i < len(s); i++ {
			c := s[i]
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				ok = false
				break
			}
		}
		if ok {
			return nil
		}
	}
	return d.Validate()
}

// Decode is json.Unmarshal into an Index.
func Decode(data []byte) (*imgspecv1.Index, error) {
	return DecodeText(string(data))
}

// DecodeText is Decode of a text already held as a string (index.json is
// read into one): the strings of the result are substrings of text, not
// copies, so a large index costs one allocation per entry less for each.
func DecodeText(text string) (*imgspecv1.Index, error) {
	p := indexParser{data: text}
	if idx, ok := p.index(); ok {
		return idx, nil
	}
	var idx imgspecv1.Index
	if err := json.Unmarshal([]byte(text), &idx); err != nil {
		return nil, err
	}
	return &idx, nil
}

// indexParser is the fast path of Decode. Each method returns false
// on anything outside its subset, and the caller then starts over with
// encoding/json, which also produces the error message for bad input.
type indexParser struct {
	data string
	pos  int
}

func (p *indexParser) ws() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// next skips white space and consumes c if it comes next.
func (p *indexParser) next(c byte) bool {
	p.ws()
	if p.pos < len(p.data) && p.data[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

func (p *indexParser) index() (*imgspecv1.Index, bool) {
	idx := &imgspecv1.Index{}
	ok := p.head(idx, func() bool {
		var ok bool
		idx.Manifests, ok = p.descriptors()
		return ok
	})
	return idx, ok
}

// head parses the index object into idx, calling manifests with the parser
// at the value of "manifests" (Scan and Decode part only there).
func (p *indexParser) head(idx *imgspecv1.Index, manifests func() bool) bool {
	var seen uint8
	ok := p.object(func(key string) bool {
		var bit uint8
		var ok bool
		switch string(key) {
		case "schemaVersion":
			bit = 1
			var n int64
			n, ok = p.int()
			idx.SchemaVersion = int(n)
		case "mediaType":
			bit = 2
			idx.MediaType, ok = p.str()
		case "artifactType":
			bit = 4
			idx.ArtifactType, ok = p.str()
		case "manifests":
			bit = 8
			ok = manifests()
		case "annotations":
			bit = 16
			idx.Annotations, ok = p.strMap()
		}
		// Unknown keys (and "subject") go to encoding/json, and so do
		// repeated ones: it merges a repeated map into the first.
		if bit == 0 || seen&bit != 0 {
			return false
		}
		seen |= bit
		return ok
	})
	if !ok {
		return false
	}
	p.ws()
	return p.pos == len(p.data)
}

// object parses {"key": value, ...}, calling field with the parser
// positioned at each value. key aliases the input.
func (p *indexParser) object(field func(key string) bool) bool {
	if !p.next('{') {
		return false
	}
	if p.next('}') {
		return true
	}
	for {
		p.ws()
		key, ok := p.plain()
		if !ok || !p.next(':') || !field(key) {
			return false
		}
		if p.next(',') {
			continue
		}
		return p.next('}')
	}
}

func (p *indexParser) descriptors() ([]imgspecv1.Descriptor, bool) {
	if !p.next('[') {
		return nil, false
	}
	// One descriptor per "digest" is a close guess of the count, and
	// saves growing a 10,000-entry slice a dozen times. The guess is
	// capped so that a hostile index.json full of the word cannot make
	// us allocate far more than its own size: a real descriptor takes
	// more than 80 bytes, and past 1<<16 entries append takes over.
	rest := p.data[p.pos:]
	out := make([]imgspecv1.Descriptor, 0, min(strings.Count(rest, `"digest"`), len(rest)/80, 1<<16))
	if p.next(']') {
		return out, true
	}
	for {
		d, ok := p.descriptor(nil)
		if !ok {
			return nil, false
		}
		out = append(out, d)
		if p.next(',') {
			continue
		}
		return out, p.next(']')
	}
}

// descriptor parses one descriptor. With keys, the annotations are not
// built into a map: only the ones the engine looks entries up by are kept,
// in keys (Scan); the rest of the grammar, and so what is accepted, is the
// same.
func (p *indexParser) descriptor(keys *keys) (imgspecv1.Descriptor, bool) {
	var d imgspecv1.Descriptor
	var seen uint8
	ok := p.object(func(key string) bool {
		var bit uint8
		var ok bool
		switch string(key) {
		case "mediaType":
			bit = 1
			d.MediaType, ok = p.str()
		case "digest":
			bit = 2
			var s string
			if keys != nil {
				keys.e.Digest, ok = keys.str(p)
			} else {
				s, ok = p.str()
			}
			d.Digest = digest.Digest(s)
		case "size":
			bit = 4
			d.Size, ok = p.int()
		case "annotations":
			bit = 8
			if keys != nil {
				ok = p.annotationKeys(keys)
			} else {
				d.Annotations, ok = p.strMap()
			}
		case "artifactType":
			bit = 16
			d.ArtifactType, ok = p.str()
		case "urls":
			bit = 32
			d.URLs, ok = rawValue[[]string](p)
		case "data":
			bit = 64
			d.Data, ok = rawValue[[]byte](p)
		case "platform":
			bit = 128
			d.Platform, ok = rawValue[*imgspecv1.Platform](p)
		}
		if bit == 0 || seen&bit != 0 {
			return false
		}
		seen |= bit
		return ok
	})
	return d, ok
}

// rawValue is raw into a new T. Decoding into a field of the descriptor
// instead would move every descriptor to the heap, used or not.
func rawValue[T any](p *indexParser) (T, bool) {
	var v T
	ok := p.raw(&v)
	return v, ok
}

// raw decodes the value at the parser into v with encoding/json, for the
// fields that are rare in an index.json (platform, urls, data).
func (p *indexParser) raw(v any) bool {
	start := p.pos
	if !p.skipValue() {
		return false
	}
	return json.Unmarshal([]byte(p.data[start:p.pos]), v) == nil
}

// skipValue moves past one JSON value without decoding it. It checks
// only the nesting; raw's json.Unmarshal checks the rest.
func (p *indexParser) skipValue() bool {
	p.ws()
	depth := 0
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch c {
		case '"':
			if _, ok := p.strEnd(); !ok {
				return false
			}
			if depth == 0 {
				return true
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return false
			}
			depth--
			if depth == 0 {
				p.pos++
				return true
			}
		case ',':
			if depth == 0 {
				return false
			}
		default:
			if depth == 0 { // a number, true, false or null
				for p.pos < len(p.data) {
					switch p.data[p.pos] {
					case ',', '}', ']', ' ', '\t', '\n', '\r':
						return true
					}
					p.pos++
				}
				return false
			}
		}
		p.pos++
	}
	return false
}

func (p *indexParser) strMap() (map[string]string, bool) {
	m := map[string]string{}
	ok := p.object(func(key string) bool {
		v, ok := p.str()
		m[key] = v
		return ok
	})
	return m, ok
}

// plain reads a string that needs no unescaping and returns it, a
// substring of the input; anything else is left to encoding/json.
func (p *indexParser) plain() (string, bool) {
	if p.pos >= len(p.data) || p.data[p.pos] != '"' {
		return "", false
	}
	i := p.pos + 1 + plainPrefix(p.data[p.pos+1:])
	if i < len(p.data) && p.data[i] == '"' {
		s := p.data[p.pos+1 : i]
		p.pos = i + 1
		return s, true
	}
	return "", false
}

// str reads a string value. Plain ASCII is taken as is; a string with
// escapes or other bytes is unquoted by encoding/json, which also
// replaces invalid UTF-8 the way it always does.
func (p *indexParser) str() (string, bool) {
	p.ws()
	if s, ok := p.plain(); ok {
		return s, true
	}
	start := p.pos
	end, ok := p.strEnd()
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal([]byte(p.data[start:end]), &s) != nil {
		return "", false
	}
	return s, true
}

// strEnd moves past the string starting at the parser and returns the
// offset just after its closing quote.
func (p *indexParser) strEnd() (int, bool) {
	if p.pos >= len(p.data) || p.data[p.pos] != '"' {
		return 0, false
	}
	for i := p.pos + 1; i < len(p.data); i++ {
		switch p.data[i] {
		case '\\':
			i++
		case '"':
			p.pos = i + 1
			return p.pos, true
		}
	}
	return 0, false
}

// int reads an integer in JSON's plain form (no fraction or exponent,
// which encoding/json refuses for an int anyway) of at most 18 digits,
// so it cannot overflow.
func (p *indexParser) int() (int64, bool) {
	p.ws()
	start := p.pos
	if p.pos < len(p.data) && p.data[p.pos] == '-' {
		p.pos++
	}
	digits := p.pos
	for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
		p.pos++
	}
	n := p.pos - digits
	if n == 0 || n > 18 || (n > 1 && p.data[digits] == '0') {
		return 0, false
	}
	if p.pos < len(p.data) {
		switch p.data[p.pos] {
		case '.', 'e', 'E':
			return 0, false
		}
	}
	v, err := strconv.ParseInt(p.data[start:p.pos], 10, 64)
	return v, err == nil
}
