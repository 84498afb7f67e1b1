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
