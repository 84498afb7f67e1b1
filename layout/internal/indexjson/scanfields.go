package indexjson

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
