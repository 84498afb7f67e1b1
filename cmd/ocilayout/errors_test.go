package main

import (
	"path/filepath"
	"strings"
	"testing"

	"go.podman.io/image/v5/copy"
)

// TestErrors checks the failure contract on bad input: exit 1 for failed
// operations, 2 for command-line mistakes, and always one stderr line that
// names what was wrong.
func TestErrors(t *testing.T) {
	tmp := t.TempDir()
	img := newTestImage(t, "errors", "amd64")
	src := filepath.Join(tmp, "src")
	writeDirImage(t, src, img)
	lay := filepath.Join(tmp, "layout")
	writeLayout(t, lay, layoutEntry{name: "present", img: img})
	missing := filepath.Join(tmp, "missing")

	for _, tc := range []struct {
		name  string
		args  []string
		code  int
		wants []string
	}{
		{"unknown transport", []string{"inspect", "nosuch:thing"}, 1, []string{`"nosuch:thing"`}},
		{"no transport", []string{"copy", "--insecure-policy", src, "oci-layout:" + lay + ":x"}, 1, []string{src}},
		{"empty layout path", []string{"inspect", "oci-layout:"}, 1, []string{"oci-layout:"}},
		{"negative index", []string{"inspect", "oci-layout:" + lay + ":@-1"}, 1, []string{"@-1"}},
		{"bad digest", []string{"inspect", "oci-layout:" + lay + ":@sha256:abc"}, 1, []string{"sha256:abc"}},
		{"bad name", []string{"inspect", "oci-layout:" + lay + ":UPPER..bad"}, 1, []string{"UPPER..bad"}},
		{"name not in layout", []string{"inspect", "oci-layout:" + lay + ":absent"}, 1, []string{"absent"}},
		{"index out of range", []string{"inspect", "oci-layout:" + lay + ":@7"}, 1, []string{"@7"}},
		{"layout missing", []string{"inspect", "oci-layout:" + missing + ":x"}, 1, []string{missing}},
		{"copy from missing", []string{"copy", "--insecure-policy", "oci-layout:" + missing + ":x", "dir:" + filepath.Join(tmp, "out")}, 1, []string{missing}},
		{"copy to @N", []string{"copy", "--insecure-policy", "dir:" + src, "oci-layout:" + lay + ":@0"}, 1, []string{"@0"}},
		{"list missing", []string{"list", missing}, 1, []string{missing}},
		{"too few args", []string{"copy", "dir:" + src}, 2, []string{"copy", "expected"}},
		{"too many args", []string{"inspect", "a:b", "c:d"}, 2, []string{"inspect"}},
		{"unknown flag", []string{"list", "--bogus", lay}, 2, []string{"--bogus"}},
		{"unknown command", []string{"frobnicate"}, 2, []string{"frobnicate"}},
		{"bad format", []string{"copy", "--format", "v2s1", "dir:" + src, "oci-layout:" + lay + ":x"}, 2, []string{"v2s1"}},
		{"bad compression", []string{"copy", "--dest-compress-format", "lz4", "dir:" + src, "oci-layout:" + lay + ":x"}, 2, []string{"lz4"}},
		{"bad multi-arch", []string{"copy", "--multi-arch", "some", "dir:" + src, "oci-layout:" + lay + ":x"}, 2, []string{"some"}},
		{"bad creds", []string{"copy", "--src-creds", ":secret", "dir:" + src, "oci-layout:" + lay + ":x"}, 2, []string{"--src-creds"}},
		{"bad log level", []string{"--log-level", "loud", "list", lay}, 2, []string{"loud"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertOneLineError(t, runCLI(t, tc.args...), tc.code, tc.wants...)
		})
	}
}

func TestCredsAreNotEchoed(t *testing.T) {
	r := runCLI(t, "copy", "--src-creds", ":hunter2", "dir:/a", "dir:/b")
	assertOneLineError(t, r, 2)
	if s := string(r.stderr); strings.Contains(s, "hunter2") {
		t.Errorf("password leaked into the error: %q", s)
	}
}

func TestListSelection(t *testing.T) {
	for _, tc := range []struct {
		all       bool
		multiArch string
		given     bool
		want      copy.ImageListSelection
		wantErr   bool
	}{
		{want: copy.CopySystemImage},
		{all: true, want: copy.CopyAllImages},
		{multiArch: "system", given: true, want: copy.CopySystemImage},
		{multiArch: "all", given: true, want: copy.CopyAllImages},
		{multiArch: "index-only", given: true, want: copy.CopySpecificImages},
		{all: true, multiArch: "all", given: true, want: copy.CopyAllImages},
		{all: true, multiArch: "system", given: true, wantErr: true},
		{multiArch: "", given: true, wantErr: true},
	} {
		o := &copyOptions{all: tc.all, multiArch: tc.multiArch}
		got, err := o.listSelection(tc.given)
		if (err != nil) != tc.wantErr || (err == nil && got != tc.want) {
			t.Errorf("all=%v multi-arch=%q: got %v, %v; want %v (error %v)", tc.all, tc.multiArch, got, err, tc.want, tc.wantErr)
		}
	}
}
