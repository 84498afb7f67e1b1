package layout

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// TestLookupMatchesResolve is the differential test of Lookup's fast path:
// on random index.json texts, the index codec's fuzz corpus (what Scan
// takes and what it leaves to encoding/json: truncated, repeated keys,
// wrong types), duplicated names, an oversized index.json and a bad
// schemaVersion, every selector gives what Resolve gives on the index
// Index reads: the same descriptor, or the same error.
func TestLookupMatchesResolve(t *testing.T) {
	ctx := context.Background()
	texts := []string{
		`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + testDigests[0].String() + `","size":1,"annotations":{"org.opencontainers.image.ref.name":"t0"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + testDigests[1].String() + `","size":2,"annotations":{"org.opencontainers.image.ref.name":"t0"}}]}`,
		`{"schemaVersion":3,"manifests":[]}`,
		`{"schemaVersion":2,"manifests":[{"mediaType":"text/plain","digest":"` + testDigests[0].String() + `","size":1,"annotations":{"org.opencontainers.image.ref.name":"t0"}}]}`,
		`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:../x","size":1,"annotations":{"org.opencontainers.image.ref.name":"t0"}}]}`,
		`{"schemaVersion":2,"manifests":[{"digest":"` + testDigests[0].String() + `","annotations":{"org.opencontainers.image.ref.name":"t0"}}` + strings.Repeat(" ", 2048) + `]}`, // over the limit set below
	}
	texts = append(texts, differentialTexts(t, 2)...)
	sels := []string{"", "t0", "t1", "latest", "@0", "@1", "@7", "@" + testDigests[0].String(), "@" + testDigests[3].String()}
	old := maxIndexSize
	maxIndexSize = 2048
	t.Cleanup(func() { maxIndexSize = old })
	l, dir := gtCreate(t)
	for _, text := range texts {
		gtWriteRaw(t, filepath.Join(dir, "index.json"), []byte(text))
		for _, s := range sels {
			sel, err := ParseSelector(s)
			if err != nil {
				t.Fatal(err)
			}
			got, gotErr := l.Lookup(ctx, sel)
			idx, wantErr := l.Index(ctx)
			want := got
			if wantErr == nil {
				want, wantErr = l.Resolve(ctx, idx, sel)
			}
			if errText(gotErr) != errText(wantErr) || (gotErr == nil && !reflect.DeepEqual(got, want)) {
				t.Fatalf("%q in %s:\nLookup  %v, %v\nResolve %v, %v", s, text, got, gotErr, want, wantErr)
			}
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// differentialTexts are the index.json texts the differential tests of
// the scanning paths run on: 150 random ones (randomIndexText, from seed)
// and the index codec's fuzz corpus, what Scan takes and what it leaves
// to encoding/json (truncated, repeated keys, wrong types).
func differentialTexts(t *testing.T, seed uint64) []string {
	var texts []string
	r := rand.New(rand.NewPCG(15, seed))
	for range 150 {
		texts = append(texts, randomIndexText(r))
	}
	corpus := filepath.Join("internal", "indexjson", "testdata", "fuzz", "FuzzIndexJSON")
	files, err := os.ReadDir(corpus)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		texts = append(texts, string(readCorpusFile(t, filepath.Join(corpus, f.Name()))))
	}
	return texts
}

// readCorpusFile reads a one-[]byte fuzz corpus file ("go test fuzz v1").
func readCorpusFile(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, arg, _ := strings.Cut(string(raw), "\n")
	s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(arg), "[]byte("), ")"))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return []byte(s)
}
