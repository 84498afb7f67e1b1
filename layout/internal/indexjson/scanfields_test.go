package indexjson

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestTypeAndSize: for every entry Scan accepts, TypeAndSize is the media
// type and size Entry decodes, on the fuzz seeds and corpus, on random
// indexes and on entries whose other values hold the two keys, or hold
// them escaped, in every order.
func TestTypeAndSize(t *testing.T) {
	texts := []string{
		`{"schemaVersion":2,"manifests":[{"size":7,"digest":"sha256:x","mediaType":"a/b"}]}`,
		`{"schemaVersion":2,"manifests":[{"annotations":{"size":"9","mediaType":"x"},"platform":{"os":"linux","size":3},"size":7,"mediaType":"a/b"}]}`,
		`{"schemaVersion":2,"manifests":[{"mediaType":"a\/b\u00e9","size":-1},{"digest":"sha256:x"},{"size":0,"urls":["x","size"]}]}`,
		"{\"schemaVersion\":2,\"manifests\":[ { \"digest\" : \"\\\"q\" , \"size\" :\n12345678901 ,\t\"mediaType\":\"é\" } ]}",
		`{"schemaVersion":2,"manifests":[{"data":"YQ==","artifactType":"t","mediaType":"m","size":1}]}`,
	}
	texts = append(texts, indexJSONSeeds...)
	files, err := os.ReadDir(indexJSONCorpus)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		texts = append(texts, string(readFuzzBytes(t, filepath.Join(indexJSONCorpus, f.Name()))))
	}
	r := rand.New(rand.NewPCG(15, 2))
	for range 1000 {
		texts = append(texts, string(randomIndex(r)))
	}
	scanned := 0
	for _, text := range texts {
		s, ok := Scan(text)
		if !ok {
			continue
		}
		for i := range s.Entries {
			scanned++
			d := s.Entry(i)
			if mt, size := s.TypeAndSize(i); mt != d.MediaType || size != d.Size {
				t.Errorf("%q entry %d: TypeAndSize %q %d, Entry %q %d", text, i, mt, size, d.MediaType, d.Size)
			}
		}
	}
	if scanned < 1000 {
		t.Errorf("only %d entries scanned: the inputs no longer exercise TypeAndSize", scanned)
	}
}
