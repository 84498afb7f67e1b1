package layout

import (
	"os"
	"path/filepath"
	"testing"
)

// TestReadAllSizedLimit: a file of exactly limit bytes is read whole; one
// byte more is refused.
func TestReadAllSizedLimit(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	content := "0123456789"
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		limit int64
		ok    bool
	}{{10, true}, {11, true}, {9, false}} {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := readAllSized(f, tc.limit)
		f.Close()
		if tc.ok != (err == nil) || (tc.ok && string(got) != content) {
			t.Errorf("readAllSized of 10 bytes, limit %d = %q, %v; want ok %v", tc.limit, got, err, tc.ok)
		}
	}
}

// TestParseIndexSizes: an entry of size 0 (an empty blob) is valid; one
// of negative size does not make the index unreadable (one bad entry never
// bricks a layout): it is kept, opaque (TestOneBadEntryNeverBricksTheLayout).
func TestParseIndexSizes(t *testing.T) {
	entry := func(size string) []byte {
		return []byte(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":` + size + `}]}`)
	}
	if _, err := parseIndex(entry("0"), "index.json"); err != nil {
		t.Errorf("an entry of size 0: %v", err)
	}
	idx, err := parseIndex(entry("-1"), "index.json")
	if err != nil {
		t.Fatalf("an index with an entry of size -1: %v; want it read", err)
	}
	if len(idx.Manifests) != 1 {
		t.Errorf("an entry of size -1 was dropped: %d entries", len(idx.Manifests))
	}
}
