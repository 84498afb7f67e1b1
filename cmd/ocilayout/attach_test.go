package main

import "testing"

func TestSplitFileSpec(t *testing.T) {
	for _, tc := range []struct{ spec, path, mediaType string }{
		{"sbom.json", "sbom.json", defaultFileMediaType},
		{"sbom.json:application/spdx+json", "sbom.json", "application/spdx+json"},
		{"dir/a:b.txt", "dir/a:b.txt", defaultFileMediaType}, // a colon in the name, no media type
		{"a:b.txt:text/plain", "a:b.txt", "text/plain"},
		{":text/plain", ":text/plain", defaultFileMediaType}, // no file name: all of it is the path
	} {
		path, mt := splitFileSpec(tc.spec)
		if path != tc.path || mt != tc.mediaType {
			t.Errorf("splitFileSpec(%q) = %q, %q; want %q, %q", tc.spec, path, mt, tc.path, tc.mediaType)
		}
	}
}

// TestReferrersCLIErrors: mistakes in the command line are usage errors
// (exit 2), failures name their input, each on one line.
func TestReferrersCLIErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args  []string
		code  int
		wants []string
	}{
		{[]string{"attach", "oci-layout:" + dir + ":app", "f"}, exitUsage, []string{"--artifact-type is required"}},
		{[]string{"attach", "--artifact-type", "a/b", "oci-layout:" + dir + ":app"}, exitUsage, []string{"at least one FILE"}},
		{[]string{"attach", "--artifact-type", "a/b", "--annotation", "novalue", "oci-layout:" + dir + ":app", "f"}, exitUsage, []string{"KEY=VALUE"}},
		{[]string{"referrers"}, exitUsage, []string{"IMAGE"}},
		{[]string{"referrers", "dir:" + dir + "/img"}, exitFailure, []string{"oci-layout:", "docker://"}},
		{[]string{"referrers", "oci-layout:" + dir + "/missing:app"}, exitFailure, []string{"missing"}},
		{[]string{"copy", "--referrers", "--insecure-policy", "oci-layout:" + dir + ":app", "dir:" + dir + "/out"}, exitUsage, []string{"oci-layout: and docker://"}},
	} {
		assertOneLineError(t, runCLI(t, tc.args...), tc.code, tc.wants...)
	}
}
