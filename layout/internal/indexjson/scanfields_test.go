package indexjson

import (
	"fmt"
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
		// The common shape, and its near misses.
		`{"schemaVersion":2,"manifests":[{"mediaType":"a/b","digest":"sha256:x","size":7},{"mediaType":"","digest":"d","size":0,"annotations":{"k":"v"}},{"mediaType":"m","digest":"","size":1}]}`,
		`{"schemaVersion":2,"manifests":[{"mediaType":"m","digest":"d","size":-3},{"mediaType":"m","digest":"d","size":123456789012345678},{"mediaType":"m\u0041","digest":"d","size":2},{"mediaType":"m","digest":"d\u0041","size":2},{"mediaType":"m","digest":"d","size": 4}]}`,
		`{"schemaVersion":2,"manifests":[{"mediaType":"m","digest":"d","urls":["u"],"size":5},{"mediaType":"m","size":6,"digest":"d"}]}`,
	}
	for i := range 200 { // as json.Marshal writes a descriptor
		texts = append(texts, fmt.Sprintf(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%064d","size":%d,"annotations":{"org.opencontainers.image.ref.name":"t%d"}}]}`, i, i*7919, i))
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
	scanned, quick := 0, 0
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
			if _, _, ok := s.quickTypeAndSize(i); ok {
				quick++
			}
		}
	}
	if scanned < 1000 || quick < 100 || scanned-quick < 500 {
		t.Errorf("%d entries scanned, %d of them by quickTypeAndSize: the inputs no longer exercise both paths", scanned, quick)
	}
}
