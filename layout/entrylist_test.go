package layout

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/layout/internal/indexjson"
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestEntryListMatchesApplyTag is the differential test of the
// transaction's two forms: random tag sequences (new names, moves,
// untagged writes, names held twice, referrers orphaned by a move) applied
// to an entryList over a random index.json, and by applyTag to the same
// index decoded, give the same entries after every step, both in the list
// (as Entries and Update's full decode see it) and in what it writes.
// Sequences run past linearLookups, so that both lookups are compared, and
// call Entries in between, as sync's batches do.
func TestEntryListMatchesApplyTag(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 1))
	for round := range 400 {
		text := randomIndexText(r)
		s, ok := indexjson.Scan(text)
		if !ok {
			t.Fatalf("round %d: Scan refused %s", round, text)
		}
		want, err := indexjson.DecodeText(text)
		if err != nil {
			t.Fatal(err)
		}
		l := newEntryList(s)
		var viewed []imgspecv1.Descriptor
		for step := range 3 + r.IntN(20) {
			desc, name := randomTag(r)
			wantGone := applyTag(want, desc, name)
			if gone := l.tag(desc, name); !sameEntries(gone, wantGone) {
				t.Fatalf("round %d step %d: the list dropped %v, applyTag %v", round, step, gone, wantGone)
			}
			if r.IntN(3) == 0 {
				viewed = l.view()
			}
			what := fmt.Sprintf("round %d step %d (tag %s as %q) of %s", round, step, desc.Digest, name, text)
			checkEntryList(t, what, l, want.Manifests)
			if viewed != nil && l.viewed != nil && !reflect.DeepEqual(l.viewed, l.decodeAll()) {
				t.Fatalf("%s: Entries kept\n%v\nthe list holds\n%v", what, l.viewed, l.decodeAll())
			}
		}
	}
}

// checkEntryList compares l, decoded and written, with want.
func checkEntryList(t *testing.T, what string, l *entryList, want []imgspecv1.Descriptor) {
	t.Helper()
	if got := l.decodeAll(); !sameEntries(got, want) {
		t.Fatalf("%s: the list holds\n%v\napplyTag gives\n%v", what, got, want)
	}
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	if err := l.encode(w); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	var written imgspecv1.Index
	if err := json.Unmarshal(out.Bytes(), &written); err != nil {
		t.Fatalf("%s: the list wrote %q: %v", what, out.Bytes(), err)
	}
	if !sameEntries(written.Manifests, want) {
		t.Fatalf("%s: the list wrote\n%s\napplyTag gives\n%v", what, out.Bytes(), want)
	}
}

// sameEntries compares entries as a reader sees them: an empty
// annotations map is no annotations.
func sameEntries(a, b []imgspecv1.Descriptor) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if len(x.Annotations) == 0 && len(y.Annotations) == 0 {
			x.Annotations, y.Annotations = nil, nil
		}
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

var testDigests = []digest.Digest{
	digest.FromString("a"), digest.FromString("b"), digest.FromString("c"), digest.FromString("d"),
}

var testNames = []string{"t0", "t1", "t2", "latest", "sha256-x"}

// randomIndexText writes an index.json of random entries over a few
// digests and names: tagged, untagged, names held twice, referrers (some
// of an instance, with a subject root), compact or indented.
func randomIndexText(r *rand.Rand) string {
	idx := imgspecv1.Index{MediaType: imgspecv1.MediaTypeImageIndex, Manifests: []imgspecv1.Descriptor{}}
	idx.SchemaVersion = 2
	for range r.IntN(8) {
		d := imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest, Digest: testDigests[r.IntN(len(testDigests))], Size: int64(r.IntN(500))}
		ann := map[string]string{}
		switch r.IntN(4) {
		case 0, 1:
			ann[imgspecv1.AnnotationRefName] = testNames[r.IntN(len(testNames))]
		case 2:
			ann[AnnotationSubject] = testDigests[r.IntN(len(testDigests))].String()
			if r.IntN(3) == 0 {
				ann[AnnotationSubjectRoot] = testDigests[r.IntN(len(testDigests))].String()
			}
		}
		if r.IntN(5) == 0 {
			ann["x"] = "é\u2028<"
		}
		if len(ann) > 0 {
			d.Annotations = ann
		}
		if r.IntN(6) == 0 {
			d.Platform = &imgspecv1.Platform{OS: "linux", Architecture: "arm64"}
		}
		idx.Manifests = append(idx.Manifests, d)
	}
	var b []byte
	if r.IntN(3) == 0 {
		b, _ = json.MarshalIndent(idx, "", "  ")
	} else {
		b, _ = json.Marshal(idx)
	}
	if r.IntN(4) == 0 { // an escaped name, which Scan keeps aside decoded
		b = []byte(strings.Replace(string(b), `"t1"`, `"\u00741"`, 1))
	}
	return string(b)
}

// randomTag returns a random Tag call: a descriptor of the test digests
// (sometimes a referrer) and a name ("" for untagged).
func randomTag(r *rand.Rand) (imgspecv1.Descriptor, string) {
	d := imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest, Digest: testDigests[r.IntN(len(testDigests))], Size: int64(r.IntN(500))}
	if r.IntN(5) == 0 {
		d.Annotations = map[string]string{AnnotationSubject: testDigests[r.IntN(len(testDigests))].String()}
	}
	name := ""
	if r.IntN(4) > 0 {
		name = testNames[r.IntN(len(testNames))]
	}
	return d, name
}
