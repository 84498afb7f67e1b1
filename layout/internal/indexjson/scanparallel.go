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
// at most four (past that, merging them costs about what another part
// saves). A variable, so that the tests can split on one core.
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
	// The first part appends to *out, sized for all of them, and records
	// its strings in s itself, so that only the later parts are merged.
	parts[0].entries = *out
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
	all := parts[0].entries
	for _, part := range parts[1:] {
		shift := int32(len(s.decoded))
		for _, e := range part.entries {
			e.Digest, e.Name = e.Digest.shifted(shift), e.Name.shifted(shift)
			e.Subject, e.SubjectRoot = e.Subject.shifted(shift), e.SubjectRoot.shifted(shift)
			all = append(all, e)
		}
		s.decoded = append(s.decoded, part.decoded...)
	}
	*out = all
	p.pos = parts[len(parts)-1].end
	return true
}

// scan scans the part's entries, as entries does, into part.entries;
// their decoded strings go to s (nil: to part.decoded).
func (part *scanPart) scan(text string, s *Scanned) {
	own := s == nil
	if own {
		s = &Scanned{Text: text}
		to := part.to
		if to < 0 {
			to = len(text)
		}
		part.entries = make([]Entry, 0, (to-part.from)/200) // as entries sizes its slice
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
