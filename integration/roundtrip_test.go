package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestRoundTripPreservesDigest copies oci: → oci-layout: → oci: and
// checks that the manifest that comes back is byte for byte the one that
// went in (same digest), with and without --preserve-digests.
func TestRoundTripPreservesDigest(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags []string
	}{
		{"plain", nil},
		{"preserve-digests", []string{"--preserve-digests"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			a, b, c := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "c")
			want := writeRandomImage(t, a, "app", imageSpec{seed: 42, layers: 3, layerSize: 256 << 10})

			copyArgs := func(src, dst string) []string {
				return append(append([]string{"copy", "--quiet", "--insecure-policy"}, tc.flags...), src, dst)
			}
			mustRunCLI(t, copyArgs("oci:"+a+":app", "oci-layout:"+b+":app")...)
			if got := tagsOf(t, checkLayout(t, b))["app"]; got != want {
				t.Fatalf("oci-layout:%s:app is %s, want %s", b, got, want)
			}
			mustRunCLI(t, copyArgs("oci-layout:"+b+":app", "oci:"+c+":app")...)

			got := builtinTag(t, c, "app")
			if got != want {
				t.Errorf("round trip changed the manifest digest: %s → %s", want, got)
			}
			raw := mustRunCLI(t, "inspect", "--raw", "oci-layout:"+b+":app")
			if d := digest.FromString(raw); d != want {
				t.Errorf("inspect --raw of the middle layout has digest %s, want %s", d, want)
			}
		})
	}
}

// builtinTag reads index.json of a layout written by the built-in oci:
// transport directly (no ocilayout code) and returns the digest tagged name.
func builtinTag(t *testing.T, dir, name string) digest.Digest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx imgspecv1.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		t.Fatalf("parsing %s/index.json: %v", dir, err)
	}
	for _, d := range idx.Manifests {
		if d.Annotations[imgspecv1.AnnotationRefName] == name {
			return d.Digest
		}
	}
	t.Fatalf("%s/index.json has no entry named %q: %s", dir, name, data)
	return ""
}
