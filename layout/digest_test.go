package layout

import (
	"github.com/ocilayout/ocilayout/layout/internal/indexjson"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// TestValidDigestAgreesWithValidate: validDigest's sha256 fast path gives
// Validate's answer, on each side of every character range it tests, at
// the first and last hex position, and for lengths one off.
func TestValidDigestAgreesWithValidate(t *testing.T) {
	hex := strings.Repeat("0123456789abcdef", 4)
	cases := []string{"sha256:" + hex, "sha256:" + hex[:63], "sha256:" + hex + "0", "sha256;" + hex, "SHA256:" + hex,
		"sha512:" + hex + hex, "sha256:", ""}
	letters, digits := strings.Repeat("a", 64), strings.Repeat("9", 64)
	for _, c := range []byte("09af/:`gAF\x00\xff") {
		for _, h := range []string{hex, letters, digits} {
			cases = append(cases, "sha256:"+string(c)+h[1:], "sha256:"+h[:63]+string(c))
		}
	}
	for _, s := range cases {
		d := digest.Digest(s)
		if got, want := indexjson.ValidDigest(d) == nil, d.Validate() == nil; got != want {
			t.Errorf("indexjson.ValidDigest(%q) valid = %v, Validate says %v", s, got, want)
		}
	}
}
