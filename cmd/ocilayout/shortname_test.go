package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/internal/fixture"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestShortNameCopy runs "ocilayout copy NAME oci-layout:PATH" with a
// SOURCE-IMAGE without transport: it is resolved through --registries-conf
// to the one of two search registries that has it, the resolution is
// printed, and the layout entry is named after it (unless the destination
// names the entry itself). In enforcing mode the same name is ambiguous
// and the one-line error lists both candidates.
func TestShortNameCopy(t *testing.T) {
	reg1, reg2 := fixture.StartRegistry(t), fixture.StartRegistry(t)
	want := fixture.PushImage(t, reg2, "library/app", "12", "only in the second registry")
	tmp := t.TempDir()
	conf := filepath.Join(tmp, "registries.conf")
	fixture.WriteFile(t, conf, []byte(fixture.RegistriesConf([]string{reg1, reg2}, "")))
	resolved := reg2 + "/library/app:12"

	for _, tc := range []struct{ dest, name string }{
		{"oci-layout:" + filepath.Join(tmp, "unnamed"), resolved},
		{"oci-layout:" + filepath.Join(tmp, "named") + ":mine", "mine"},
	} {
		r := mustRun(t, "copy", "--insecure-policy", "--registries-conf", conf, "library/app:12", tc.dest)
		if !strings.Contains(string(r.stderr), "Resolved library/app:12 to "+resolved+"\n") {
			t.Errorf("copy to %s did not print the resolved name; stderr:\n%s", tc.dest, r.stderr)
		}
		dir, _, _ := strings.Cut(strings.TrimPrefix(tc.dest, "oci-layout:"), ":")
		idx := fixture.ReadIndex(t, dir)
		if len(idx.Manifests) != 1 {
			t.Fatalf("%s holds %d entries after one copy, want 1", dir, len(idx.Manifests))
		}
		got := idx.Manifests[0]
		if got.Annotations[imgspecv1.AnnotationRefName] != tc.name || got.Digest != want {
			t.Errorf("%s holds %s named %q, want %s named %q", dir, got.Digest, got.Annotations[imgspecv1.AnnotationRefName], want, tc.name)
		}
	}

	enforcing := filepath.Join(tmp, "enforcing.conf")
	fixture.WriteFile(t, enforcing, []byte(fixture.RegistriesConf([]string{reg1, reg2}, `short-name-mode = "enforcing"`)))
	r := runCLI(t, "copy", "--insecure-policy", "--registries-conf", enforcing, "library/app:12", "oci-layout:"+filepath.Join(tmp, "never"))
	assertOneLineError(t, r, exitFailure, "ambiguous", reg1+"/library/app:12", reg2+"/library/app:12")
}
