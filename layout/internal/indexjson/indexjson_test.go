package indexjson

import (
	"bufio"
	"bytes"
	"encoding/json"
	"reflect"
	"runtime"
	"strings"
	"testing"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// indexJSONSeeds are index.json texts on both sides of Decode's fast
// path: what this package writes, what other tools write (whitespace,
// platforms, urls, data, subjects), and what only encoding/json decides.
var indexJSONSeeds = []string{
	`{"schemaVersion":2,"manifests":[]}`,
	`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}`,
	"{\n  \"schemaVersion\": 2,\n  \"mediaType\": \"application/vnd.oci.image.index.v1+json\",\n  \"manifests\": [\n    {\n      \"mediaType\": \"application/vnd.oci.image.index.v1+json\",\n      \"digest\": \"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\",\n      \"size\": 856,\n      \"platform\": {\"architecture\": \"amd64\", \"os\": \"linux\", \"os.features\": [\"x\"]},\n      \"urls\": [\"https://a/b\"],\n      \"data\": \"e30=\",\n      \"artifactType\": \"application/x\"\n    }\n  ],\n  \"annotations\": {\"b\": \"2\", \"a\": \"1\"}\n}\n",
	`{"schemaVersion":2,"manifests":[{"mediaType":"a","digest":"d","size":1}],"subject":{"mediaType":"a","digest":"d","size":1}}`,
	`{"schemaVersion":2,"manifests":[{"mediaType":"a\u003c\"\\é","digest":"d","size":-0,"annotations":{"k\n":"<v>&"}}]}`,
	`{"schemaVersion":2,"manifests":[{"mediaType":"a","digest":"d","size":1,"annotations":{}}],"annotations":{}}`,
	`{"schemaVersion":2,"manifests":null}`,
	`{"schemaVersion":2,"Manifests":[]}`,
	`{"schemaVersion":2,"manifests":[],"manifests":[{"digest":"x"}]}`,
	`{"schemaVersion":2,"manifests":[{"size":1.0}]}`,
	`{"schemaVersion":2,"manifests":[{"size":1e3}]}`,
	`{"schemaVersion":2,"manifests":[{"size":99999999999999999999}]}`,
	`{"schemaVersion":2,"manifests":[{"size":01}]}`,
	`{"schemaVersion":2,"manifests":[{"mediaType":null}]}`,
	`{"schemaVersion":2,"manifests":[{"platform":null,"urls":null,"data":null}]}`,
	`{"schemaVersion":2,"manifests":[{"annotations":{"a":"1","a":"2"}}]}`,
	`{"schemaVersion":2,"manifests":[{"mediaType":"a"},]}`,
	`{"schemaVersion":2,"manifests":[]} x`,
	`{"schemaVersion":2,"manifests":[{"mediaType":"` + "\xff\xfe" + `"}]}`,
	`{"schemaVersion":2,"manifests":[{"mediaType":"tab` + "\t" + `"}]}`,
	`{"schemaVersion":2,"manifests":[{"data":"!!"}]}`,
	`{"schemaVersion":"2","manifests":[]}`,
	`[]`,
	``,
	`{`,
}

// TestIndexJSONMatchesEncodingJSON checks the seeds: Decode agrees
// with json.Unmarshal (value, or failing both), and Encode writes
// what json.NewEncoder writes.
func TestIndexJSONMatchesEncodingJSON(t *testing.T) {
	for _, s := range indexJSONSeeds {
		checkIndexJSON(t, []byte(s))
	}
}

// TestIndexJSONFastPathTaken makes sure the common index.json shapes are
// decoded by the fast parser, not silently by the fallback.
func TestIndexJSONFastPathTaken(t *testing.T) {
	for _, i := range []int{0, 1, 2, 5, 14} { // what ocilayout, skopeo and umoci write
		s := indexJSONSeeds[i]
		p := indexParser{data: s}
		if _, ok := p.index(); !ok {
			t.Errorf("fast path refused %q", s)
		}
	}
}

func FuzzIndexJSON(f *testing.F) {
	for _, s := range indexJSONSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkIndexJSON)
}

func checkIndexJSON(t *testing.T, data []byte) {
	var want imgspecv1.Index
	wantErr := json.Unmarshal(data, &want)
	got, err := Decode(data)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%q: Decode error %v, json.Unmarshal error %v", data, err, wantErr)
	}
	if err != nil {
		return
	}
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("%q: Decode gave\n%#v\njson.Unmarshal gave\n%#v", data, *got, want)
	}
	var wantOut bytes.Buffer
	if err := json.NewEncoder(&wantOut).Encode(&want); err != nil {
		return // not encodable (say, an invalid float); writeIndex never sees one
	}
	var gotOut bytes.Buffer
	w := bufio.NewWriter(&gotOut)
	if err := Encode(w, &want); err != nil {
		t.Fatalf("%q: Encode: %v", data, err)
	}
	w.Flush()
	if !bytes.Equal(gotOut.Bytes(), wantOut.Bytes()) {
		t.Fatalf("Encode wrote\n%s\njson.Encoder wrote\n%s", gotOut.Bytes(), wantOut.Bytes())
	}
}

// TestIndexJSONBoundedAllocation: an index.json stuffed with the word
// "digest" (8 MiB of it, invalid JSON) is refused without allocating much
// more than its own size, although the fast path sizes its slice by
// counting that word.
func TestIndexJSONBoundedAllocation(t *testing.T) {
	data := []byte(`{"schemaVersion":2,"manifests":[` + strings.Repeat(`"digest"`, 1<<20))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := Decode(data)
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("Decode accepted invalid JSON")
	}
	if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(3*len(data)); got > limit {
		t.Fatalf("Decode of %d bytes allocated %d bytes (limit %d)", len(data), got, limit)
	}
}
