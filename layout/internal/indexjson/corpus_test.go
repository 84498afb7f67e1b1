package indexjson

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// indexJSONCorpus is the committed corpus of FuzzIndexJSON, which plain
// `go test` runs as seeds beside indexJSONSeeds. Each file is named for
// what decodeIndex must do with it: "fast-*" is decoded by the
// hand-written parser alone (whitespace, key order, every descriptor
// field, escapes and UTF-8 in values, edge sizes, many entries), "slow-*"
// leaves the parser partway and goes to encoding/json (repeated or
// unknown keys, numbers the parser does not take, truncations, invalid
// input). The fuzz seeds check that both paths agree with encoding/json;
// TestIndexJSONCorpusPaths checks that each file takes its path, since a
// parser that gave up too early would still agree and only be slow.
const indexJSONCorpus = "testdata/fuzz/FuzzIndexJSON"

// TestIndexJSONCorpusPaths: every fast-* corpus file takes the fast path
// and every slow-* file does not, and most of the corpus is fast, so the
// fuzzer starts from inputs that exercise the hand-written parser.
func TestIndexJSONCorpusPaths(t *testing.T) {
	files, err := os.ReadDir(indexJSONCorpus)
	if err != nil {
		t.Fatal(err)
	}
	fast := 0
	for _, f := range files {
		data := readFuzzBytes(t, filepath.Join(indexJSONCorpus, f.Name()))
		p := indexParser{data: string(data)}
		_, ok := p.index()
		switch {
		case strings.HasPrefix(f.Name(), "fast-"):
			if !ok {
				t.Errorf("%s: the fast path refused %q", f.Name(), data)
			}
			fast++
		case strings.HasPrefix(f.Name(), "slow-"):
			if ok {
				t.Errorf("%s: the fast path took %q, which is meant for encoding/json", f.Name(), data)
			}
		}
		checkIndexJSON(t, data)
	}
	if fast < 40 || 2*fast <= len(files) {
		t.Errorf("%d of %d corpus files are fast-*: want at least 40, and most", fast, len(files))
	}
}

// readFuzzBytes reads a corpus file of one []byte argument, in the
// "go test fuzz v1" format the fuzzer writes.
func readFuzzBytes(t testing.TB, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	header, arg, _ := strings.Cut(string(raw), "\n")
	arg = strings.TrimSpace(arg)
	if header != "go test fuzz v1" || !strings.HasPrefix(arg, "[]byte(") || !strings.HasSuffix(arg, ")") {
		t.Fatalf("%s: not a one-[]byte fuzz corpus file", path)
	}
	s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(arg, "[]byte("), ")"))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return []byte(s)
}
