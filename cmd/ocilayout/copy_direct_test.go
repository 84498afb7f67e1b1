package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/internal/fixture"
)

// TestCopyDirectRoute: ocilayout copy between a layout and a registry
// takes the direct route (its report says so) when nothing is to be
// converted, and copy.Image when a flag asks for a conversion; either way
// the image arrives with its manifest digest.
func TestCopyDirectRoute(t *testing.T) {
	reg := fixture.StartRegistry(t)
	src := filepath.Join(t.TempDir(), "src")
	img := newTestImage(t, "direct", "amd64")
	writeLayout(t, src, layoutEntry{name: "app", img: img})
	direct, viaImage := "Copying directly", "Getting image source signatures"
	digestFile := filepath.Join(t.TempDir(), "digest")
	for _, tc := range []struct {
		name  string
		args  []string
		route string
	}{
		{"push", []string{"--dest-tls-verify=false", "oci-layout:" + src + ":app", "docker://" + reg + "/d/app:v1"}, direct},
		{"push, --format oci", []string{"--dest-tls-verify=false", "--format", "oci", "oci-layout:" + src + ":app", "docker://" + reg + "/i/app:v1"}, viaImage},
		{"pull", []string{"--src-tls-verify=false", "docker://" + reg + "/d/app:v1", "oci-layout:" + filepath.Join(t.TempDir(), "d") + ":app"}, direct},
		{"pull, --dest-compress", []string{"--src-tls-verify=false", "--dest-compress", "docker://" + reg + "/d/app:v1", "oci-layout:" + filepath.Join(t.TempDir(), "c") + ":app"}, viaImage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"copy", "--insecure-policy", "--digestfile", digestFile}, tc.args...)
			r := mustRun(t, args...)
			if !strings.Contains(string(r.stderr), tc.route) {
				t.Errorf("report does not show %q:\n%s", tc.route, r.stderr)
			}
			if got := string(readFile(t, digestFile)); got != img.digest().String() {
				t.Errorf("copied manifest %s, want %s", got, img.digest())
			}
		})
	}
	// The default policy (here: one that accepts nothing) is enforced on
	// the direct route too.
	policy := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(policy, []byte(`{"default":[{"type":"reject"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "copy", "--policy", policy, "--dest-tls-verify=false", "oci-layout:"+src+":app", "docker://"+reg+"/r/app:v1")
	assertOneLineError(t, r, 1, "rejected")
}
