package indexjson

import (
	"runtime"
	"strings"
	"sync"
)

// Scan reads the entries of a large index.json on every core: resolving a
// name in an index of 100,000 entries is reading 21 MB and scanning it
// (issue 15 aims at 20 ms), and the scan is the part that divides.
//
// The entries are cut where the text looks like the boundary between two
// of them ("},{", which every compact writer puts there), and each part is
// scanned as a run of entries. That guess may be wrong (the three bytes
// may lie inside a string), but it is checked, not trusted: the first part
// starts where the entries really start, and a part is kept only if it
// ends exactly at the next part's start, on the comma between two entries;
// then, part by part, each started at a real boundary and was scanned in
// its true context. If any part fails, the entries are scanned again in
// order, which decides (and refuses a bad text as before). FuzzScan and
// TestScanRandom check the result against the scan in order.

// parallelScanMin is the size of the entries' text from which Scan splits
// them: below it, starting the goroutines costs more than it saves. A
// variable, so that the tests can split small texts.
var parallelScanMin = 1 << 20

// scanParts is how many parts Scan splits large entries into: one a core,
// at most four (measured on two cores only: each part past the first
// costs a goroutine and a copy of its entries into the first's slice). A
// variable, so that the tests can split on one core.
var scanParts = func() int { return min(runtime.GOMAXPROCS(0), 4) }

// scanPart is one part of the entries and what its scan found.
type scanPart struct {
	from, to int      // to: where the next part starts, -1 for the last part
	entries  []Entry  // with Str offsets into decoded, not yet Scanned's
	decoded  []string // the part's strings that are not substrings of the text
	end      int      // the last part: the parser's position after "]"
	ok       bool
}

// entriesParallel scans the entries from the parser (at the first one)
// in up to n parts, appending them to *out and their decoded strings to
// s.decoded, and leaves the parser after "]". It reports whether every
// part was taken; if not, *out and s are left for the caller to reset.
func (p *indexParser) entriesParallel(s *Scanned, n int, out *[]Entry) bool {
	text, begin := p.data, p.pos
	starts := []int{begin}
	for c := 1; c < n; c++ {
		at := begin + (len(text)-begin)*c/n
		if at <= starts[len(starts)-1] {
			continue
		}
		i := strings.Index(text[at:], "},{")
		if i < 0 {
			break
		}
		starts = append(starts, at+i+2)
	}
	if len(starts) == 1 {
		return false
	}
	parts := make([]scanPart, len(starts))
	for c := range parts {
		parts[c].from, parts[c].to = starts[c], -1
		if c+1 < len(starts) {
			parts[c].to = starts[c+1]
		}
	}
	// Each part appends into its own stretch of *out, which is sized for
	// all of them at a descriptor per 200 bytes (see entries): a part
	// starting k bytes in gets the room from k/200 up to where the next
	// part's begins. The parts then need no slices of their own, only a
	// move down when they are joined (at 100,000 entries a second slice
	// was 2.2 MB of a 64 MiB peak, issue 15). A part that finds more
	// entries than its room grows out of it, into a slice of its own, as
	// append does; the first records its strings in s itself, so that only
	// the later parts' are merged.
	room := (*out)[:cap(*out)]
	at := func(c int) int {
		if c == len(parts) {
			return len(room)
		}
		return min((parts[c].from-begin)/200, len(room))
	}
	for c := range parts {
		parts[c].entries = room[at(c):at(c):at(c+1)]
	}
	var wg sync.WaitGroup
	for c := 1; c < len(parts); c++ {
		wg.Go(func() { parts[c].scan(text, nil) })
	}
	parts[0].scan(text, s)
	wg.Wait()
	for _, part := range parts {
		if !part.ok {
			return false
		}
	}
	// Joined in place when every part stayed in its room: each moves down
	// behind the ones before it (copy is memmove), never onto a part not
	// yet moved. A part that grew out of its room has a slice of its own,
	// and the entries are joined in a new one, as before.
	inPlace := true
	total := 0
	for c, part := range parts {
		e, i := part.entries, at(c)
		inPlace = inPlace && (len(e) == 0 || (i < len(room) && &e[0] == &room[i]))
		total += len(e)
	}
	all := parts[0].entries
	if inPlace {
		all = room[:len(all)]
	} else {
		all = append(make([]Entry, 0, total), all...)
	}
	for _, part := range parts[1:] {
		shift, first := int32(len(s.decoded)), len(all)
		all = append(all, part.entries...)
		if shift > 0 && len(part.decoded) > 0 {
			for i := first; i < len(all); i++ {
				e := &all[i]
				e.Digest, e.Name = e.Digest.shifted(shift), e.Name.shifted(shift)
				e.Subject, e.SubjectRoot = e.Subject.shifted(shift), e.SubjectRoot.shifted(shift)
			}
		}
		s.decoded = append(s.decoded, part.decoded...)
	}
	*out = all
	p.pos = parts[len(parts)-1].end
	return true
}

// scan scans the part's entries into part.entries; their decoded strings
// go to s (nil: to part.decoded). The entries read in order are one part,
// from the first to "]".
func (part *scanPart) scan(text string, s *Scanned) {
	own := s == nil
	if own {
		s = &Scanned{Text: text}
	}
	p := indexParser{data: text, pos: part.from}
	for {
		p.ws()
		k := keys{s: s}
		if !p.entry(&k) {
			return
		}
		part.entries = append(part.entries, k.e)
		if part.to >= 0 {
			if p.pos == part.to-1 { // on the comma of the "},{" found
				break
			}
			if p.pos >= part.to-1 {
				return // past the next part's start, which was no boundary: stop now
			}
		}
		if p.next(',') {
			continue
		}
		if part.to >= 0 || !p.next(']') {
			return
		}
		part.end = p.pos
		break
	}
	if own {
		part.decoded = s.decoded
	}
	part.ok = true
}

// shifted is v with its decoded string moved by n places, as it is when
// its part's strings follow n others in Scanned.
func (v Str) shifted(n int32) Str {
	if v.Off < 0 {
		v.Off -= n
	}
	return v
}
