package indexjson

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// scanInParts is Scan with the entries split into n parts however small
// the text (checkScan compares it with Scan in order).
func scanInParts(text string, n int) (*Scanned, bool) {
	defer func(min int, parts func() int) { parallelScanMin, scanParts = min, parts }(parallelScanMin, scanParts)
	parallelScanMin, scanParts = 0, func() int { return n }
	return Scan(text)
}

// TestScanInParts: the parts are taken where the guessed boundaries are
// real, refused where one lies inside a string or is not an entry's start,
// and either way Scan gives what it gives in order.
func TestScanInParts(t *testing.T) {
	entry := func(name string) string {
		return `{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` + strings.Repeat("a", 64) + `","size":1,"annotations":{"org.opencontainers.image.ref.name":"` + name + `"}}`
	}
	index := func(entries ...string) string {
		return `{"schemaVersion":2,"manifests":[` + strings.Join(entries, ",") + `],"annotations":{"a":"b"}}`
	}
	var many []string
	for i := range 50 {
		many = append(many, entry("t"+strconv.Itoa(i)))
	}
	// The one name holds the text of a boundary, in the middle of the text.
	decoy := func(inside string) string {
		return index(append(append(append([]string{}, many[:25]...), entry(strings.Repeat("x", 300)+inside+strings.Repeat("y", 300))), many[25:]...)...)
	}
	tests := []struct {
		name  string
		text  string
		parts int
		taken bool // whether the parts were taken, not scanned again in order
	}{
		{"compact", index(many...), 2, true},
		{"four parts", index(many...), 4, true},
		{"more parts than entries", index(entry("a"), entry("b")), 4, true},
		{"one entry", index(entry("a")), 2, false},
		{"boundary inside a string", decoy(`},{`), 2, false},
		{"a whole entry inside a string", decoy(`},{"mediaType":"m","digest":"d","size":1},{`), 2, false},
		{"indented", strings.ReplaceAll(index(many...), "},{", "},\n  {"), 2, false},
		{"bad entry after the boundary", strings.Replace(index(many...), `"t40"`, `t40`, 1), 2, false},
		{"bad entry before the boundary", strings.Replace(index(many...), `"t10"`, `t10`, 1), 2, false},
		{"no closing bracket", strings.TrimSuffix(index(many...), `],"annotations":{"a":"b"}}`), 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, wantOK := Scan(tt.text)
			got, gotOK := scanInParts(tt.text, tt.parts)
			if gotOK != wantOK || !reflect.DeepEqual(got, want) {
				t.Fatalf("in parts: %v %+v; in order: %v %+v", gotOK, got, wantOK, want)
			}
			p := indexParser{data: tt.text, pos: strings.Index(tt.text, "[") + 1}
			s := &Scanned{Text: tt.text}
			var out []Entry
			if taken := p.entriesParallel(s, tt.parts, &out); taken != tt.taken {
				t.Fatalf("parts taken: %v, want %v", taken, tt.taken)
			}
		})
	}
}

// TestScanInPartsInPlace: parts whose entries fit the room Scan sizes
// (a descriptor per 200 bytes) are scanned into that one slice and joined
// in it, with no slice of their own; parts of smaller entries grow out of
// their room and are joined in a new slice. Either way, with escaped
// names (decoded strings, renumbered when joined) in every part, the
// entries are those of the scan in order.
func TestScanInPartsInPlace(t *testing.T) {
	index := func(n int, pad, hex string) string {
		var entries []string
		for i := range n {
			name := "t" + strconv.Itoa(i) + pad
			if i%7 == 3 {
				name = `\u00e9` + name // decoded, not a substring of the text
			}
			entries = append(entries, `{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:`+hex+`","size":1,"annotations":{"org.opencontainers.image.ref.name":"`+name+`"}}`)
		}
		return `{"schemaVersion":2,"manifests":[` + strings.Join(entries, ",") + `]}`
	}
	for _, tt := range []struct {
		name    string
		text    string
		parts   int
		inPlace bool
	}{
		{"entries of 230 bytes, 2 parts", index(300, strings.Repeat("p", 20), strings.Repeat("b", 64)), 2, true},
		{"entries of 230 bytes, 4 parts", index(300, strings.Repeat("p", 20), strings.Repeat("b", 64)), 4, true},
		{"entries of 150 bytes, 2 parts", index(300, "", "b"), 2, false},
		{"entries of 150 bytes, 4 parts", index(300, "", "b"), 4, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want, ok := Scan(tt.text)
			if !ok {
				t.Fatal("Scan in order refused the text")
			}
			p := indexParser{data: tt.text, pos: strings.Index(tt.text, "[") + 1}
			s := &Scanned{Text: tt.text}
			room := make([]Entry, 0, (len(tt.text)-p.pos)/200)
			out := room
			if !p.entriesParallel(s, tt.parts, &out) {
				t.Fatal("parts not taken")
			}
			if !reflect.DeepEqual(out, want.Entries) || !reflect.DeepEqual(s.decoded, want.decoded) {
				t.Fatalf("in parts:\n%+v\n%q\nin order:\n%+v\n%q", out, s.decoded, want.Entries, want.decoded)
			}
			if got := &out[0] == &room[:1][0]; got != tt.inPlace {
				t.Errorf("joined in the room Scan sized: %v, want %v", got, tt.inPlace)
			}
		})
	}
}

// TestNameKey: the names a large layout holds (t0 to t99999, versions
// differing in one digit, long names differing near either end) almost
// never share a key, so that a lookup compares few texts.
func TestNameKey(t *testing.T) {
	var names []string
	for i := range 100000 {
		names = append(names, "t"+strconv.Itoa(i))
	}
	for i := range 1000 {
		names = append(names, "v1."+strconv.Itoa(i)+".0-alpine", "registry.example.com/team/app:"+strconv.Itoa(i), strconv.Itoa(i)+"-a-long-name-with-a-number-at-the-start")
	}
	seen := map[uint32]string{}
	shared := 0
	for _, n := range names {
		if other, ok := seen[NameKey(n)]; ok {
			shared++
			t.Logf("%q and %q share key %#x", n, other, NameKey(n))
		}
		seen[NameKey(n)] = n
	}
	if shared > 5 {
		t.Fatalf("%d of %d names share a key", shared, len(names))
	}
}
