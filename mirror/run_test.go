package mirror_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/signature"

	"github.com/ocilayout/ocilayout/mirror"
)

// TestRunParallelSameDigest syncs 12 images and 4 more names of the same
// digests with 4 workers between layouts: each digest is copied once, the
// other names are given to it after that copy, nothing is lost, and a
// second run finds everything unchanged.
func TestRunParallelSameDigest(t *testing.T) {
	tmp := t.TempDir()
	src, dst := filepath.Join(tmp, "src"), filepath.Join(tmp, "dst")
	var names []string
	for i := range 12 {
		names = append(names, fmt.Sprintf("quay.io/ns/app:v%d", i))
	}
	writeExampleLayout(src, names...)
	idx := readIndex(t, src)
	want := map[string]string{}
	for _, d := range idx.Manifests {
		want[d.Annotations[imgspecv1.AnnotationRefName]] = d.Digest.String()
	}
	for i := range 4 { // aliases: quay.io/ns/app:alias-N is v(N*3)
		d := idx.Manifests[i*3]
		d.Annotations = map[string]string{imgspecv1.AnnotationRefName: fmt.Sprintf("quay.io/ns/app:alias-%d", i)}
		idx.Manifests = append(idx.Manifests, d)
		want[d.Annotations[imgspecv1.AnnotationRefName]] = d.Digest.String()
	}
	data, err := json.Marshal(idx)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "index.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}

	opts := mirror.Options{
		Sources:     []mirror.Source{{Layout: src}},
		Destination: mirror.Destination{Layout: dst},
		Policy:      &signature.Policy{Default: signature.PolicyRequirements{signature.NewPRInsecureAcceptAnything()}},
		Parallel:    4,
	}
	rep, err := mirror.Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Totals.Copied != 16 || rep.Totals.Images != 16 {
		t.Fatalf("first run %+v, want 16 copied", rep.Totals)
	}
	got := map[string]string{}
	for _, d := range readIndex(t, dst).Manifests {
		got[d.Annotations[imgspecv1.AnnotationRefName]] = d.Digest.String()
	}
	if len(got) != len(want) {
		t.Errorf("destination holds %d names, want %d: %v", len(got), len(want), got)
	}
	for n, d := range want {
		if got[n] != d {
			t.Errorf("%s holds %q, want %s", n, got[n], d)
		}
	}
	if rep, err = mirror.Run(context.Background(), opts); err != nil || rep.Totals.Unchanged != 16 {
		t.Errorf("second run %+v, %v; want 16 unchanged", rep.Totals, err)
	}
}

func readIndex(t *testing.T, dir string) imgspecv1.Index {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx imgspecv1.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		t.Fatal(err)
	}
	return idx
}
