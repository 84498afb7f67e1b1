package layout

import (
	"strings"
	"testing"
)

// TestCloseReclaimsReplacedFallbackTags: a second Attach rewrites the
// subject's fallback tag, and closing the Layout removes the index the tag
// named before, so the layout verifies sound with no gc; while another
// Layout holds a lease, Close does not wait for it, and leaves that index
// to gc.
func TestCloseReclaimsReplacedFallbackTags(t *testing.T) {
	for _, tc := range []struct {
		name        string
		otherWriter bool
	}{{"alone", false}, {"beside a writer", true}} {
		t.Run(tc.name, func(t *testing.T) {
			l, dir := gtCreate(t)
			ctx := t.Context()
			img := gtManifest(t, l, "img")
			must(t, l.addManifest(ctx, img, "app"))
			for _, sig := range []string{"one", "two"} {
				d, err := l.putBytes(ctx, []byte(sig))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := l.Attach(ctx, img, sigArtifact(d, []byte(sig))); err != nil {
					t.Fatal(err)
				}
			}
			if tc.otherWriter {
				other, err := Open(dir)
				if err != nil {
					t.Fatal(err)
				}
				defer other.Close()
				lease, err := other.AcquireWriteLease(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer lease.Release()
			}
			must(t, l.Close())
			v, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			rep, err := v.Verify(ctx)
			if err != nil {
				t.Fatal(err)
			}
			unreachable := 0
			for _, p := range rep.Problems {
				if strings.Contains(p.String(), "unreachable") {
					unreachable++
				}
			}
			if want := map[bool]int{false: 0, true: 1}[tc.otherWriter]; unreachable != want || len(rep.Problems) != want {
				t.Errorf("after two attaches and Close: problems %v, want %d unreachable blob(s)", rep.Problems, want)
			}
		})
	}
}
