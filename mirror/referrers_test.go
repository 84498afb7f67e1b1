package mirror

import "testing"

func TestIsReferrersTag(t *testing.T) {
	hex := "6d26fc76d756b9f377c863169c00ce0f792366a25449c6c8c1bb42a9e8ed7a24"
	for tag, want := range map[string]bool{
		"sha256-" + hex:           true,
		"sha256-" + hex + ".sig":  true,
		"sha256-" + hex + ".att":  true,
		"sha256-" + hex + ".sbom": true,
		"sha256-" + hex + ".txt":  false,
		"sha256-" + hex[:10]:      false,
		"v1":                      false,
		"sha256-" + hex + "x":     false,
	} {
		if got := isReferrersTag(tag); got != want {
			t.Errorf("isReferrersTag(%q) = %v, want %v", tag, got, want)
		}
	}
}
