package indexjson

import (
	"strings"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// An index.json of 100,000 tags is 100,000 entries of one shape, the
// compact text json.Marshal writes for a descriptor with a media type, a
// digest, a size, plain annotations and, when ocilayout wrote it, a
// platform:
//
//	{"mediaType":"…","digest":"sha256:…","size":N,"annotations":{"org.opencontainers.image.ref.name":"…"},"platform":{"architecture":"amd64","os":"linux"}}
//
// ocilayout, skopeo, oras, crane and regctl all write that text. The
// general grammar (descriptor) spends most of Scan's time on what this
// shape fixes: finding each key, dispatching on it, skipping white space
// that is not there. quickEntry matches the shape as one run of fixed
// text and plain values, so the aim of issue 15 (a name resolved in 20 ms
// at 100,000 entries) is not spent on the grammar's generality. Anything
// else, white space included, goes to descriptor, so quickEntry accepts
// nothing descriptor refuses and finds the same keys (TestQuickEntry,
// FuzzScan).

// The fixed text between the values of the common shape, and the text
// of its most common start, up to the digest's hex: a manifest's entry.
const (
	quickMediaType   = `{"mediaType":"`
	quickDigest      = `","digest":"`
	quickManifest    = quickMediaType + imgspecv1.MediaTypeImageManifest + quickDigest + "sha256:"
	quickSize        = `,"size":`
	quickAnnotations = `,"annotations":{"`
	quickRefName     = imgspecv1.AnnotationRefName + `":"`
	quickPlatform    = `,"platform":{"architecture":"`
)

// quickEntry parses the entry at the parser into k if it has the common
// shape, and reports whether it did; when it did not, the parser has not
// moved. The shape's most common parts (a manifest's media type, a sha256
// digest, the name's key) are compared as fixed text, not scanned.
func (p *indexParser) quickEntry(k *keys) bool {
	s := p.data
	start := p.pos
	var digest Str
	i := start
	if strings.HasPrefix(s[i:], quickManifest) && len(s)-i >= len(quickManifest)+65 &&
		s[i+len(quickManifest)+64] == '"' && isPlain(s[i+len(quickManifest):i+len(quickManifest)+64]) {
		i += len(quickManifest) + 64
		digest = Str{Off: int32(i - 64 - len("sha256:")), End: int32(i)}
		i++
	} else {
		if !strings.HasPrefix(s[i:], quickMediaType) {
			return false
		}
		i += len(quickMediaType)
		i += plainPrefix(s[i:]) // the media type, which Scan does not keep
		if !strings.HasPrefix(s[i:], quickDigest) {
			return false
		}
		var ok bool
		if digest, i, ok = quickValue(s, i+len(quickDigest)); !ok {
			return false
		}
	}
	if !strings.HasPrefix(s[i:], quickSize) {
		return false
	}
	i += len(quickSize)
	// The size, in the form indexParser.int accepts: 1 to 18 digits, no
	// leading zero (a negative one goes to descriptor). What follows must
	// be "}" or ",", so a fraction or an exponent is refused below.
	digits := i
	for i < len(s) && s[i]-'0' <= 9 {
		i++
	}
	if n := i - digits; n == 0 || n > 18 || (n > 1 && s[digits] == '0') {
		return false
	}
	e := Entry{Start: int32(start), Digest: digest}
	var ok bool
	if strings.HasPrefix(s[i:], quickAnnotations) {
		if i, ok = quickAnnotationKeys(s, i+len(quickAnnotations), &e); !ok {
			return false
		}
	}
	// ocilayout's destination records each image's platform, so most
	// entries it writes end with one.
	if strings.HasPrefix(s[i:], quickPlatform) {
		if i, ok = quickPlatformEnd(s, i+len(quickPlatform)); !ok {
			return false
		}
	}
	if !strings.HasPrefix(s[i:], "}") {
		return false
	}
	i++
	e.End = int32(i)
	p.pos = i
	k.e = e
	return true
}

// quickValue reads the plain string value starting at s[i] (just after
// its opening quote) and returns its Str, as keys.str would, and the
// offset past its closing quote; ok is false when the value is not plain.
func quickValue(s string, i int) (v Str, next int, ok bool) {
	end := i + plainPrefix(s[i:])
	if end >= len(s) || s[end] != '"' {
		return Str{}, 0, false
	}
	if end > i {
		v = Str{Off: int32(i), End: int32(end)}
	}
	return v, end + 1, true
}

// quickAnnotationKeys reads annotations of plain keys and values from s[i]
// (just after the first key's opening quote) to their closing "}",
// keeping the values Entry holds as annotationKeys does (the last of a
// repeated key wins). It returns the offset after the "}".
func quickAnnotationKeys(s string, i int, e *Entry) (int, bool) {
	for {
		var key string
		if strings.HasPrefix(s[i:], quickRefName) {
			key, i = imgspecv1.AnnotationRefName, i+len(quickRefName)
		} else {
			keyEnd := i + plainPrefix(s[i:])
			if !strings.HasPrefix(s[keyEnd:], `":"`) {
				return 0, false
			}
			key, i = s[i:keyEnd], keyEnd+3
		}
		v, next, ok := quickValue(s, i)
		if !ok {
			return 0, false
		}
		switch key {
		case imgspecv1.AnnotationRefName:
			e.Name = v
		case AnnotationSubject:
			e.Subject = v
		case AnnotationSubjectRoot:
			e.SubjectRoot = v
		}
		switch {
		case strings.HasPrefix(s[next:], `,"`):
			i = next + 2
		case strings.HasPrefix(s[next:], "}"):
			return next + 1, true
		default:
			return 0, false
		}
	}
}

// quickPlatformEnd reads a platform as json.Marshal writes the common ones,
// from s[i] (just after the architecture's opening quote): the
// architecture, the os, then an os.version and a variant if present, all
// plain strings, to the closing "}". It returns the offset after it.
// Anything else (os.features, another order, an escape) is left to
// descriptor, whose encoding/json takes the same text as this does.
func quickPlatformEnd(s string, i int) (int, bool) {
	_, i, ok := quickValue(s, i)
	if !ok || !strings.HasPrefix(s[i:], `,"os":"`) {
		return 0, false
	}
	if _, i, ok = quickValue(s, i+len(`,"os":"`)); !ok {
		return 0, false
	}
	if strings.HasPrefix(s[i:], `,"os.version":"`) {
		if _, i, ok = quickValue(s, i+len(`,"os.version":"`)); !ok {
			return 0, false
		}
	}
	if strings.HasPrefix(s[i:], `,"variant":"`) {
		if _, i, ok = quickValue(s, i+len(`,"variant":"`)); !ok {
			return 0, false
		}
	}
	if !strings.HasPrefix(s[i:], "}") {
		return 0, false
	}
	return i + 1, true
}
