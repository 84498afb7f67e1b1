package layout

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestIndexEntriesAnnotations is the differential test of IndexEntries'
// asked annotations (sync's names): on texts that hide an asked annotation
// (escaped key, key only as a value, empty value, a repeated key), random
// index.json texts and the index codec's fuzz corpus (what Scan takes and
// what it leaves to encoding/json), IndexEntries gives what the full
// decode gives: every entry in order, its name, digest and the asked
// annotations it has, or the same error.
func TestIndexEntriesAnnotations(t *testing.T) {
	ctx := context.Background()
	d0, d1 := testDigests[0].String(), testDigests[1].String()
	entry := func(name, ann string) string {
		return `{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + d0 + `","size":1,"annotations":{"org.opencontainers.image.ref.name":"` + name + `"` + ann + `}}`
	}
	texts := []string{
		`{"schemaVersion":2,"manifests":[]}`,
		`{"schemaVersion":2,"manifests":[` + entry("a", `,"k":"v"`) + `,` + entry("b", "") + `,{"digest":"` + d1 + `"}]}`,
		`{"schemaVersion":2,"manifests":[` + entry("a", `,"\u006b":"escaped key"`) + `]}`,
		`{"schemaVersion":2,"manifests":[` + entry("a", `,"other":"k"`) + `,` + entry("k", "") + `]}`,
		`{"schemaVersion":2,"manifests":[` + entry("a", `,"k":""`) + `]}`,
		`{"schemaVersion":2,"manifests":[` + entry("a", `,"k":"first","k":"last"`) + `]}`,
		`{"schemaVersion":2,"manifests":[` + entry("a", `,"k":"é\u2028"`) + `,` + entry(`\u0062`, `,"`+AnnotationSubject+`":"`+d1+`"`) + `]}`,
		`{"schemaVersion":2,"manifests":[` + entry("a", `,"`+AnnotationSubjectRoot+`":"`+d1+`","`+AnnotationSubject+`":""`) + `]}`,
		`{"schemaVersion":3,"manifests":[]}`,
		`{"schemaVersion":2,"manifests":[` + entry("a", "") + `,]}`,
		`{"schemaVersion":2,"manifests":[{"digest":"` + d0 + `","digest":"` + d1 + `","annotations":{"org.opencontainers.image.ref.name":"a","k":1}}]}`,
	}
	texts = append(texts, differentialTexts(t, 16)...)
	keys := []string{AnnotationSubject, AnnotationSubjectRoot, "k", "x"}
	type named struct {
		Name string
		Desc imgspecv1.Descriptor
	}
	l, dir := gtCreate(t)
	for _, text := range texts {
		gtWriteRaw(t, filepath.Join(dir, "index.json"), []byte(text))
		var got []named
		gotErr := l.IndexEntries(ctx, func(d imgspecv1.Descriptor, name, _ string) {
			got = append(got, named{name, imgspecv1.Descriptor{Digest: d.Digest, Annotations: d.Annotations}})
		}, keys...)
		if gotErr != nil {
			got = nil
		}
		var want []named
		idx, wantErr := l.Index(ctx)
		if wantErr == nil {
			for _, e := range idx.Manifests {
				d := imgspecv1.Descriptor{Digest: e.Digest}
				for _, k := range keys {
					if v := e.Annotations[k]; v != "" {
						if d.Annotations == nil {
							d.Annotations = map[string]string{}
						}
						d.Annotations[k] = v
					}
				}
				want = append(want, named{entryName(e), d})
			}
		}
		if errText(gotErr) != errText(wantErr) || !reflect.DeepEqual(got, want) {
			t.Fatalf("in %s:\nIndexEntries %v, %v\nIndex        %v, %v", text, got, gotErr, want, wantErr)
		}
	}
}
