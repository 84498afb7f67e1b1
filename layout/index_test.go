package layout

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// gtStep is one AddManifest call of a tag-move scenario: image key (a..e,
// or r for a referrer of a) and name.
type gtStep struct{ img, name string }

// TestAddManifestTagMoves runs AddManifest sequences against a real layout
// and compares the resulting index.json entries, in order, as "img:name"
// ("img:" for untagged).
func TestAddManifestTagMoves(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []gtStep
		want  []string
	}{
		{"tag", []gtStep{{"a", "v1"}}, []string{"a:v1"}},
		{"name moves, old untagged entry dropped", []gtStep{{"a", "v1"}, {"b", "v1"}}, []string{"b:v1"}},
		{"replacing in place keeps positions", []gtStep{{"c", "x"}, {"a", "v1"}, {"d", "y"}, {"b", "v1"}}, []string{"c:x", "b:v1", "d:y"}},
		{"other names of the old digest stay", []gtStep{{"a", "v1"}, {"a", "v2"}, {"b", "v1"}}, []string{"b:v1", "a:v2"}},
		{"rewrite same tag same image is idempotent", []gtStep{{"a", "v1"}, {"a", "v1"}}, []string{"a:v1"}},
		{"untagged re-add idempotent", []gtStep{{"a", ""}, {"a", ""}}, []string{"a:"}},
		{"untagged add of a tagged digest changes nothing", []gtStep{{"a", "v1"}, {"a", ""}}, []string{"a:v1"}},
		{"tagging an untagged entry replaces it in place", []gtStep{{"c", "x"}, {"a", ""}, {"d", "y"}, {"a", "v1"}}, []string{"c:x", "a:v1", "d:y"}},
		{"referrer of the dropped digest dropped", []gtStep{{"a", "v1"}, {"r", ""}, {"b", "v1"}}, []string{"b:v1"}},
		{"referrer kept while its subject has another name", []gtStep{{"a", "v1"}, {"a", "v2"}, {"r", ""}, {"b", "v1"}}, []string{"b:v1", "a:v2", "r:"}},
		{"untagged entry of another digest is not touched", []gtStep{{"e", ""}, {"a", "v1"}, {"b", "v1"}}, []string{"e:", "b:v1"}},
		{"three moves", []gtStep{{"a", "v1"}, {"b", "v1"}, {"c", "v1"}, {"a", "v1"}}, []string{"a:v1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, _ := gtCreate(t)
			ctx := context.Background()
			descs := map[string]imgspecv1.Descriptor{}
			keyOf := map[digest.Digest]string{}
			for _, k := range []string{"a", "b", "c", "d", "e"} {
				descs[k] = gtManifest(t, l, k)
				keyOf[descs[k].Digest] = k
			}
			// r is a referrer (e.g. a signature artifact) whose subject is a.
			r := gtManifest(t, l, "referrer")
			r.Annotations = map[string]string{AnnotationSubject: descs["a"].Digest.String()}
			descs["r"] = r
			keyOf[r.Digest] = "r"

			for _, s := range tc.steps {
				if err := l.addManifest(ctx, descs[s.img], s.name); err != nil {
					t.Fatalf("AddManifest(%s, %q): %v", s.img, s.name, err)
				}
			}
			entries, err := l.list(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range entries {
				got = append(got, keyOf[e.Digest]+":"+e.Name)
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("index.json = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestAddManifestRefusesBadName: an invalid name is refused, naming it,
// and index.json is left as it was.
func TestAddManifestRefusesBadName(t *testing.T) {
	l, dir := gtCreate(t)
	ctx := context.Background()
	d := gtManifest(t, l, "a")
	before := gtTree(t, dir)
	err := l.addManifest(ctx, d, "no spaces")
	if err == nil || !strings.Contains(err.Error(), `"no spaces"`) {
		t.Fatalf("AddManifest with a bad name = %v", err)
	}
	if after := gtTree(t, dir); after != before {
		t.Errorf("a refused AddManifest changed the layout:\n%s\n---\n%s", before, after)
	}
}

// TestAddManifestConcurrentGoroutines: UpdateIndex serialises goroutines
// of one process too (one flock per call), so no tag is lost.
func TestAddManifestConcurrentGoroutines(t *testing.T) {
	l, _ := gtCreate(t)
	ctx := context.Background()
	const n = 32
	descs := make([]imgspecv1.Descriptor, n)
	for i := range n {
		descs[i] = gtManifest(t, l, fmt.Sprint(i))
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = l.addManifest(ctx, descs[i], fmt.Sprintf("t%d", i)) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	entries, err := l.list(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]digest.Digest{}
	for _, e := range entries {
		got[e.Name] = e.Digest
	}
	for i := range n {
		if got[fmt.Sprintf("t%d", i)] != descs[i].Digest {
			t.Errorf("tag t%d lost or wrong after %d concurrent AddManifest calls (index has %d entries)", i, n, len(entries))
		}
	}
}
