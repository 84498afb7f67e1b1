package layout

import (
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

func TestParseSelector(t *testing.T) {
	sha256d := digest.FromString("x")
	sha512d := digest.SHA512.FromString("x")
	for _, tc := range []struct {
		in      string
		kind    selectorKind
		name    string
		index   int
		digest  digest.Digest
		wantErr string // substring of the error; "" for success
	}{
		{in: "", kind: selectAny},
		{in: "app", kind: selectName, name: "app"},
		{in: "registry.example.com/ns/app:v1.2", kind: selectName, name: "registry.example.com/ns/app:v1.2"},
		{in: "a--b", kind: selectName, name: "a--b"},
		{in: "@0", kind: selectIndex, index: 0},
		{in: "@12", kind: selectIndex, index: 12},
		{in: "@" + sha256d.String(), kind: selectDigest, digest: sha256d},
		{in: "@" + sha512d.String(), kind: selectDigest, digest: sha512d},
		{in: "@-1", wantErr: `"@-1"`},
		{in: "@+1", wantErr: `"@+1"`},
		{in: "@", wantErr: `"@"`},
		{in: "@x", wantErr: `"@x"`},
		{in: "@1x", wantErr: `"@1x"`},
		{in: "@99999999999999999999999", wantErr: `"@99999999999999999999999"`},
		{in: "@sha256:abc", wantErr: `"sha256:abc"`},
		{in: "@sha256:../../etc/passwd", wantErr: `"sha256:../../etc/passwd"`},
		{in: "@md5:d41d8cd98f00b204e9800998ecf8427e", wantErr: `"md5:d41d8cd98f00b204e9800998ecf8427e"`},
		{in: "bad name", wantErr: `"bad name"`},
		{in: "-app", wantErr: `"-app"`},
		{in: "app/", wantErr: `"app/"`},
		{in: "a..b/../c", wantErr: `"a..b/../c"`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			sel, err := ParseSelector(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseSelector(%q) = %+v, %v; want an error naming %s", tc.in, sel, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSelector(%q): %v", tc.in, err)
			}
			want := Selector{kind: tc.kind, name: tc.name, index: tc.index, digest: tc.digest}
			if sel != want {
				t.Fatalf("ParseSelector(%q) = %+v, want %+v", tc.in, sel, want)
			}
			if sel.String() != tc.in {
				t.Errorf("String() = %q, does not round-trip %q", sel.String(), tc.in)
			}
			if sel.isZero() != (tc.kind == selectAny) || sel.Name() != tc.name || sel.manifestDigest() != tc.digest {
				t.Errorf("accessors of %+v disagree with the input %q", sel, tc.in)
			}
			if i, ok := sel.position(); ok != (tc.kind == selectIndex) || i != tc.index {
				t.Errorf("Index() = %d, %v", i, ok)
			}
		})
	}
}
