package layout

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// indexEntry is one call of IndexEntries' fn.
type indexEntry struct {
	d             imgspecv1.Descriptor
	name, subject string
}

// TestIndexEntriesMatchesIndex is the differential test of IndexEntries:
// on random index.json texts, the index codec's fuzz corpus (what Scan
// takes and what it leaves to encoding/json), escaped values, a bad
// schemaVersion and an oversized index.json, fn sees, in order, each
// entry of what Index reads reduced to its media type, digest, size,
// ref.name and AnnotationSubject, or IndexEntries fails as Index does.
func TestIndexEntriesMatchesIndex(t *testing.T) {
	ctx := context.Background()
	d0 := testDigests[0].String()
	texts := []string{
		`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + d0 + `","size":1,"annotations":{"org.opencontainers.image.ref.name":"t0","` + AnnotationSubject + `":"` + d0 + `"},"platform":{"os":"linux"},"artifactType":"x","urls":["u"],"data":"YQ=="}]}`,
		`{"schemaVersion":2,"manifests":[{"size":3,"annotations":{"mediaType":"no","size":"4"},"mediaType":"a\/b\u00e9","digest":"` + d0 + `"},{"digest":"sha256:../x"}]}`,
		`{"schemaVersion":2,"manifests":[{"digest":"` + d0 + `","size":1,"unknown":true,"annotations":{"org.opencontainers.image.ref.name":"t\u0030"}}]}`, // left to encoding/json
		`{"schemaVersion":2,"manifests":[{"digest":"` + d0 + `","size":1,"size":2}]}`,                                                                     // repeated key: encoding/json
		`{"schemaVersion":3,"manifests":[]}`,
		`{"schemaVersion":2}`,
		`{"schemaVersion":2,"manifests":[{"digest":"` + d0 + `","annotations":{"org.opencontainers.image.ref.name":"t0"}}` + strings.Repeat(" ", 2048) + `]}`, // over the limit set below
		`{"schemaVersion":2,"manifests":[`,
	}
	texts = append(texts, differentialTexts(t, 3)...)
	old := maxIndexSize
	maxIndexSize = 2048
	t.Cleanup(func() { maxIndexSize = old })
	l, dir := gtCreate(t)
	entries := 0
	for _, text := range texts {
		gtWriteRaw(t, filepath.Join(dir, "index.json"), []byte(text))
		var got []indexEntry
		gotErr := l.IndexEntries(ctx, func(d imgspecv1.Descriptor, name, subject string) {
			got = append(got, indexEntry{d, name, subject})
		})
		idx, wantErr := l.Index(ctx)
		var want []indexEntry
		if wantErr == nil {
			for _, e := range idx.Manifests {
				want = append(want, indexEntry{imgspecv1.Descriptor{MediaType: e.MediaType, Digest: e.Digest, Size: e.Size}, entryName(e), e.Annotations[AnnotationSubject]})
			}
		}
		if errText(gotErr) != errText(wantErr) || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:\nIndexEntries %+v, %v\nIndex        %+v, %v", text, got, gotErr, want, wantErr)
		}
		entries += len(got)
	}
	if entries < 300 {
		t.Errorf("only %d entries compared: the texts no longer exercise IndexEntries", entries)
	}
}
