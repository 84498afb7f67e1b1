package indexjson

import "strings"

// TypeAndSize is for a caller that needs every entry's media type and size
// but none of its other fields (serve's snapshot of a 100,000-name
// index.json): Entry would build each entry's annotations map only to
// drop it, which was most of what a reload allocated. Like Entry, it
// relies on Scan having accepted the text, so the entry is in the fast
// path's grammar (plain keys, each once) and needs no checking again.

// TypeAndSize returns the mediaType and size of the i-th entry: what
// Entry(i) would hold in those fields, without decoding the others. It
// stops at the second of the two, and skips a string value without
// unescaping it.
func (s *Scanned) TypeAndSize(i int) (mediaType string, size int64) {
	if mediaType, size, ok := s.quickTypeAndSize(i); ok {
		return mediaType, size
	}
	p := indexParser{data: s.Text, pos: int(s.Entries[i].Start)}
	var seen uint8
	p.object(func(key string) bool {
		var ok bool
		switch key {
		case "mediaType":
			seen |= 1
			mediaType, ok = p.str()
		case "size":
			seen |= 2
			size, ok = p.int()
		default:
			ok = p.skipScanned()
		}
		return ok && seen != 3 // false ends the object early: both are known
	})
	return mediaType, size
}

// skipScanned moves past one value of a text Scan accepted: a plain string
// at the speed of plainPrefix, anything else by skipValue.
func (p *indexParser) skipScanned() bool {
	p.ws()
	if _, ok := p.plain(); ok {
		return true
	}
	return p.skipValue()
}

// quickTypeAndSize reads the media type and size of an entry that starts
// as quick.go's common shape does, {"mediaType":"…","digest":"…","size":N,
// as fixed text, the plain media type, the digest where Scan found it,
// and the digits; ok is false for any other start. Scan accepted the
// entry, so its size has the form indexParser.int takes when it is all
// digits.
func (s *Scanned) quickTypeAndSize(i int) (mediaType string, size int64, ok bool) {
	t, e := s.Text, s.Entries[i]
	j := int(e.Start)
	if !strings.HasPrefix(t[j:], quickMediaType) {
		return "", 0, false
	}
	j += len(quickMediaType)
	end := j + plainPrefix(t[j:])
	if !strings.HasPrefix(t[end:], quickDigest) || e.Digest.Off != int32(end+len(quickDigest)) {
		return "", 0, false
	}
	mediaType, j = t[j:end], int(e.Digest.End)
	if !strings.HasPrefix(t[j:], `"`+quickSize) {
		return "", 0, false
	}
	j += 1 + len(quickSize)
	digits := j
	for j < len(t) && t[j]-'0' <= 9 && j-digits < 18 {
		size = size*10 + int64(t[j]-'0')
		j++
	}
	if j == digits || j < len(t) && t[j]-'0' <= 9 {
		return "", 0, false // negative, or more digits than int takes: the general path decides
	}
	return mediaType, size, true
}
