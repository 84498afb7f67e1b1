package mirror_test

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/signature"

	"github.com/ocilayout/ocilayout/layout"
	"github.com/ocilayout/ocilayout/mirror"
)

// TestRunReportAndNames syncs a layout into another, then again, and
// checks what each run reports for every image (source, destination,
// digest, action: the plan makes these from compact items, not stored
// Results) and which names the destination then holds: a no-op re-sync
// copies nothing and changes no name, a name moved in the destination is
// copied back alone, and a second source writing the same names fails for
// each of them, naming the first.
func TestRunReportAndNames(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	src, other, dst := filepath.Join(tmp, "src"), filepath.Join(tmp, "other"), filepath.Join(tmp, "dst")
	names := []string{"quay.io/ns/app:v1", "quay.io/ns/app:v2", "app:v3", "tool"}
	writeExampleLayout(src, names...)
	writeExampleLayout(other, "other:x")
	srcDigests := map[string]string{}
	for _, d := range readIndex(t, src).Manifests {
		srcDigests[d.Annotations[imgspecv1.AnnotationRefName]] = d.Digest.String()
	}
	otherDigest := readIndex(t, other).Manifests[0].Digest.String()
	destName := map[string]string{"quay.io/ns/app:v1": "quay.io/ns/app:v1", "quay.io/ns/app:v2": "quay.io/ns/app:v2", "app:v3": "app:v3", "tool": "tool:latest"}
	policy := &signature.Policy{Default: signature.PolicyRequirements{signature.NewPRInsecureAcceptAnything()}}

	for _, tc := range []struct {
		name    string
		before  func(t *testing.T) // changes the destination before the run
		sources []mirror.Source
		action  map[string]mirror.Action // by source name; every other is unchanged
		failed  bool
		other   bool // the destination also holds other:x
	}{
		{"first sync", nil, []mirror.Source{{Layout: src}}, map[string]mirror.Action{"quay.io/ns/app:v1": mirror.ActionCopied, "quay.io/ns/app:v2": mirror.ActionCopied, "app:v3": mirror.ActionCopied, "tool": mirror.ActionCopied}, false, false},
		{"no-op re-sync", nil, []mirror.Source{{Layout: src}}, nil, false, false},
		{"a name moved in the destination", func(t *testing.T) {
			rep, err := mirror.Run(ctx, mirror.Options{Sources: []mirror.Source{{Layout: other}}, Destination: mirror.Destination{Layout: dst}, Policy: policy})
			if err != nil || rep.Totals.Copied != 1 {
				t.Fatalf("adding other:x: %+v, %v", rep, err)
			}
			moveName(t, dst, "other:x", "app:v3")
		}, []mirror.Source{{Layout: src}}, map[string]mirror.Action{"app:v3": mirror.ActionCopied}, false, true},
		{"a second source of the same names", nil, []mirror.Source{{Layout: src}, {Layout: src}}, nil, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before(t)
			}
			rep, err := mirror.Run(ctx, mirror.Options{Sources: tc.sources, Destination: mirror.Destination{Layout: dst}, Policy: policy, Parallel: 2, KeepGoing: true})
			if (err != nil) != tc.failed {
				t.Fatalf("Run: %v, want failure %v", err, tc.failed)
			}
			var want []mirror.Result
			for i := range tc.sources {
				for _, n := range names {
					r := mirror.Result{Source: "oci-layout:" + src + ":" + n, Destination: destName[n], Digest: digest.Digest(srcDigests[n]), Action: mirror.ActionUnchanged}
					if a, ok := tc.action[n]; ok {
						r.Action = a
					}
					if i > 0 {
						r = mirror.Result{Source: r.Source, Destination: r.Destination, Action: mirror.ActionFailed,
							Error: "destination " + r.Destination + " is also the destination of oci-layout:" + src + ":" + n + " (choose another naming)"}
					}
					want = append(want, r)
				}
			}
			if !reflect.DeepEqual(rep.Images, want) {
				t.Errorf("report:\n got %+v\nwant %+v", rep.Images, want)
			}
			got := map[string]string{}
			for _, d := range readIndex(t, dst).Manifests {
				got[d.Annotations[imgspecv1.AnnotationRefName]] = d.Digest.String()
			}
			wantNames := map[string]string{}
			if tc.other {
				wantNames["other:x"] = otherDigest
			}
			for _, n := range names {
				wantNames[destName[n]] = srcDigests[n]
			}
			if !reflect.DeepEqual(got, wantNames) {
				t.Errorf("destination names:\n got %v\nwant %v", got, wantNames)
			}
		})
	}
}

// moveName gives name, in the layout at dir, the image entry from holds,
// through the engine, as another writer would.
func moveName(t *testing.T, dir, from, name string) {
	t.Helper()
	l, err := layout.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	desc, err := l.Lookup(context.Background(), mustSelector(t, from))
	if err != nil {
		t.Fatal(err)
	}
	desc.Annotations = nil
	if err := l.Update(context.Background(), func(tx *layout.IndexTx) error { return tx.Tag(desc, name) }); err != nil {
		t.Fatal(err)
	}
}

func mustSelector(t *testing.T, s string) layout.Selector {
	t.Helper()
	sel, err := layout.ParseSelector(s)
	if err != nil {
		t.Fatal(err)
	}
	return sel
}
