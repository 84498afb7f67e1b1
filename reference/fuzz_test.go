package reference

import (
	"testing"
)

func FuzzParseReference(f *testing.F) {
	for _, s := range []string{
		"/tmp/x", "/tmp/x:", "/tmp/x:foo", "/tmp/x:foo:bar", "rel:quay.io/ns/img:1.0",
		"/tmp/x:@0", "/tmp/x:@012", "/tmp/x:@" + testDigest, ":foo", "", "/a:@-1",
		"/a:@sha256:abc", "./a/../b:x", "/a//b/:x@y", "/a:\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := ParseReference(s)
		if err != nil {
			return
		}
		r := ref.(Reference)
		str := r.StringWithinTransport()
		again, err := ref.Transport().ParseReference(str)
		if err != nil {
			t.Fatalf("%q parsed, but its StringWithinTransport %q does not: %v", s, str, err)
		}
		a := again.(Reference)
		if a.StringWithinTransport() != str || a.Selector() != r.Selector() || a.Dir() != r.Dir() {
			t.Fatalf("%q: round trip through %q gave %q (%#v), want %#v", s, str, a.StringWithinTransport(), a, r)
		}
		// Policy identities must always be acceptable scopes, or policy
		// files could not refer to them.
		for _, ns := range r.PolicyConfigurationNamespaces() {
			if err := r.Transport().ValidatePolicyConfigurationScope(ns); err != nil {
				t.Fatalf("%q: namespace %q refused as scope: %v", s, ns, err)
			}
		}
	})
}
