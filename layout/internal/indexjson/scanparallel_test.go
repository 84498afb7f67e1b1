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
