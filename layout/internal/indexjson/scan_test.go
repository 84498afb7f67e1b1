package indexjson

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// FuzzScan is the differential check of Scan against the full decode:
// whatever Scan accepts, Decode (and so json.Unmarshal, FuzzIndexJSON)
// decodes to the same head and entries, each entry's text alone decodes
// to that entry, its key fields are that entry's, and Splice of the
// entries as read gives back an index.json that decodes the same; and
// Scan accepts exactly what the fast path does, so that no input that was
// fast becomes slow. Its seeds are FuzzIndexJSON's seeds and corpus.
func FuzzScan(f *testing.F) {
	for _, s := range indexJSONSeeds {
		f.Add([]byte(s))
	}
	files, err := os.ReadDir(indexJSONCorpus)
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		f.Add(readFuzzBytes(f, filepath.Join(indexJSONCorpus, file.Name())))
	}
	f.Fuzz(checkScan)
}

// TestScanRandom runs checkScan on random index.json texts, valid ones and
// the same with random edits (a byte dropped, repeated or replaced by one
// of JSON's structural characters), so that plain go test covers inputs
// beyond the corpus.
func TestScanRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 100000))
	for range 3000 {
		data := randomIndex(r)
		checkScan(t, data)
		for range 1 + r.IntN(3) {
			data = mutate(r, data)
		}
		checkScan(t, data)
	}
}

func checkScan(t *testing.T, data []byte) {
	text := string(data)
	s, ok := Scan(text)
	p := indexParser{data: text}
	if _, fast := p.index(); fast != ok {
		t.Fatalf("%q: Scan ok %v, the fast path ok %v", data, ok, fast)
	}
	if split, splitOK := scanInParts(text, 3); splitOK != ok || !reflect.DeepEqual(split, s) {
		t.Fatalf("%q: Scan in parts gave %v\n%#v\nScan in order %v\n%#v", data, splitOK, split, ok, s)
	}
	if !ok {
		return
	}
	want, err := DecodeText(text)
	if err != nil {
		t.Fatalf("%q: Scan accepted what Decode refuses: %v", data, err)
	}
	if got := s.Index(); !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: Scan's entries\n%#v\nDecode\n%#v", data, got, want)
	}
	if len(s.Entries) != len(want.Manifests) {
		t.Fatalf("%q: %d entries scanned, %d decoded", data, len(s.Entries), len(want.Manifests))
	}
	for i, e := range s.Entries {
		d := want.Manifests[i]
		got := [4]string{s.Str(e.Digest), s.Str(e.Name), s.Str(e.Subject), s.Str(e.SubjectRoot)}
		want := [4]string{string(d.Digest), d.Annotations[imgspecv1.AnnotationRefName], d.Annotations[AnnotationSubject], d.Annotations[AnnotationSubjectRoot]}
		if got != want {
			t.Fatalf("%q: entry %d's keys scanned as %q, decoded as %q", data, i, got, want)
		}
		if key := NameKey(want[1]); e.NameKey != key {
			t.Fatalf("%q: entry %d's name key %#x, NameKey(%q) = %#x", data, i, e.NameKey, want[1], key)
		}
		var alone imgspecv1.Descriptor
		if err := json.Unmarshal([]byte(text[e.Start:e.End]), &alone); err != nil || !reflect.DeepEqual(alone, d) {
			t.Fatalf("%q: entry %d's text %q decodes alone to %#v, %v", data, i, text[e.Start:e.End], alone, err)
		}
	}
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	// Every other entry as read, the others encoded again.
	mixed := func(yield func(string, *imgspecv1.Descriptor) bool) {
		for i, e := range s.Entries {
			raw, d := text[e.Start:e.End], (*imgspecv1.Descriptor)(nil)
			if i%2 == 1 {
				raw, d = "", &want.Manifests[i]
			}
			if !yield(raw, d) {
				return
			}
		}
	}
	if err := Splice(w, &s.Head, mixed); err != nil {
		t.Fatalf("%q: Splice: %v", data, err)
	}
	w.Flush()
	var again imgspecv1.Index
	if err := json.Unmarshal(out.Bytes(), &again); err != nil {
		t.Fatalf("%q: Splice wrote %q: %v", data, out.Bytes(), err)
	}
	if len(want.Annotations) == 0 {
		want.Annotations = nil // an empty map is not written
	}
	if want.Manifests == nil {
		want.Manifests = []imgspecv1.Descriptor{} // null is written []
	}
	for i := 1; i < len(want.Manifests); i += 2 { // encoded again: empty fields are not written
		if d := &want.Manifests[i]; len(d.Annotations) == 0 {
			d.Annotations = nil
		}
		if d := &want.Manifests[i]; len(d.URLs) == 0 {
			d.URLs = nil
		}
		if d := &want.Manifests[i]; len(d.Data) == 0 {
			d.Data = nil
		}
	}
	if !reflect.DeepEqual(&again, want) {
		t.Fatalf("%q: Splice wrote %q, which decodes to\n%#v\nnot\n%#v", data, out.Bytes(), &again, want)
	}
}

// TestPlainPrefix: the eight-bytes-at-a-time scan stops where a byte-wise
// one does, and isPlain agrees with it, for every position of every kind
// of byte that ends plainness.
func TestPlainPrefix(t *testing.T) {
	slow := func(s string) int {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
				return i
			}
		}
		return len(s)
	}
	for n := range 20 {
		for at := range n + 1 {
			for _, c := range []byte{'"', '\\', 0, 0x1f, 0x20, 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0x80, 0xa2, 0xdc, 0xff} {
				b := []byte(strings.Repeat("a", n))
				if at < n {
					b[at] = c
				}
				for _, tail := range []string{"", `"`, "\x00\\\xff"} {
					s := string(b) + tail
					if got, want := plainPrefix(s), slow(s); got != want {
						t.Fatalf("plainPrefix(%q) = %d, want %d", s, got, want)
					}
					if got, want := isPlain(s), slow(s) == len(s); got != want {
						t.Fatalf("isPlain(%q) = %v, want %v", s, got, want)
					}
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = byte(0x20 + r.IntN(0x5f))
			if r.IntN(30) == 0 {
				b[i] = byte(r.IntN(256))
			}
		}
		if got, want := plainPrefix(string(b)), slow(string(b)); got != want {
			t.Fatalf("plainPrefix(%q) = %d, want %d", b, got, want)
		}
		if got, want := isPlain(string(b)), slow(string(b)) == len(b); got != want {
			t.Fatalf("isPlain(%q) = %v, want %v", b, got, want)
		}
	}
}

// randomIndex writes an index.json as one of the tools that write them
// might: random entries (names, referrers, rare fields, escapes), compact
// or indented.
func randomIndex(r *rand.Rand) []byte {
	str := func() string {
		parts := []string{"a", "t1", "sha256:x", "é", `"`, "\\", "<", "\n", "\u2028", "\xff", "},{"}
		var b strings.Builder
		for range r.IntN(4) {
			b.WriteString(parts[r.IntN(len(parts))])
		}
		return b.String()
	}
	digests := []string{"sha256:" + strings.Repeat("a", 64), "sha256:" + strings.Repeat("b", 64), "sha256:B", "../x",
		"sha256:" + strings.Repeat("c", 63) + "<", "sha256:" + strings.Repeat("d", 65)}
	idx := map[string]any{"schemaVersion": 2}
	if r.IntN(2) == 0 {
		idx["mediaType"] = imgspecv1.MediaTypeImageIndex
	}
	if r.IntN(5) == 0 {
		idx["annotations"] = map[string]string{str(): str()}
	}
	var ms []any
	for range r.IntN(6) {
		m := map[string]any{"mediaType": imgspecv1.MediaTypeImageManifest, "digest": digests[r.IntN(len(digests))], "size": r.IntN(1000) - 1}
		ann := map[string]string{}
		if r.IntN(3) > 0 {
			ann[imgspecv1.AnnotationRefName] = str()
		}
		if r.IntN(3) == 0 {
			ann[AnnotationSubject] = digests[r.IntN(len(digests))]
		}
		if r.IntN(4) == 0 {
			ann[AnnotationSubjectRoot] = digests[r.IntN(len(digests))]
		}
		if r.IntN(4) == 0 {
			ann[str()] = str()
		}
		if len(ann) > 0 || r.IntN(4) == 0 {
			m["annotations"] = ann
		}
		if r.IntN(5) == 0 {
			m["platform"] = map[string]string{"os": "linux", "architecture": str()}
		}
		if r.IntN(6) == 0 {
			m["artifactType"] = str()
		}
		if r.IntN(8) == 0 {
			m["urls"] = []string{str()}
		}
		if r.IntN(2) == 0 {
			// As a Descriptor, the fields come in the order every Go tool
			// writes them, the shape quickEntry takes.
			var d imgspecv1.Descriptor
			b, _ := json.Marshal(m)
			if json.Unmarshal(b, &d) == nil {
				ms = append(ms, d)
				continue
			}
		}
		ms = append(ms, m)
	}
	idx["manifests"] = ms
	var out []byte
	if r.IntN(3) == 0 {
		out, _ = json.MarshalIndent(idx, "", "  ")
	} else {
		out, _ = json.Marshal(idx)
	}
	return out
}

// mutate makes one random edit of data.
func mutate(r *rand.Rand, data []byte) []byte {
	if len(data) == 0 {
		return []byte("{")
	}
	i := r.IntN(len(data))
	out := append([]byte{}, data[:i]...)
	switch r.IntN(4) {
	case 0: // drop a byte
	case 1: // repeat a stretch
		j := min(len(data), i+1+r.IntN(40))
		out = append(out, data[i:j]...)
		out = append(out, data[i:i+1]...)
	case 2:
		const structural = `{}[]",:\ 0-e.`
		out = append(out, structural[r.IntN(len(structural))], data[i])
	case 3:
		out = append(out, byte(r.IntN(256)))
	}
	return append(out, data[i+1:]...)
}
