package policy

import (
	"reflect"
	"strings"
	"testing"
)

func TestIdentity(t *testing.T) {
	for _, dir := range []string{"/a", "/a/b/c", "/"} {
		if got := Identity(dir); got != dir {
			t.Errorf("Identity(%q) = %q, want %q", dir, got, dir)
		}
	}
}

func TestNamespaces(t *testing.T) {
	for _, c := range []struct {
		dir  string
		want []string
	}{
		{"/a/b/c", []string{"/a/b/c", "/a/b", "/a"}},
		{"/a", []string{"/a"}},
		{"/", []string{}},
		{"/var/lib/images/layout", []string{"/var/lib/images/layout", "/var/lib/images", "/var/lib", "/var"}},
	} {
		got := Namespaces(c.dir)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("Namespaces(%q) = %#v, want %#v", c.dir, got, c.want)
		}
		// Every namespace must itself be an acceptable scope, or a policy
		// file could not name it.
		for _, ns := range got {
			if err := ValidateScope(ns); err != nil {
				t.Errorf("namespace %q of %q refused by ValidateScope: %v", ns, c.dir, err)
			}
		}
	}
}

func TestValidateScope(t *testing.T) {
	for _, c := range []struct {
		scope string
		ok    bool
	}{
		{"/a", true},
		{"/a/b/c", true},
		// DIR:NAME never matches (identity is the directory): refused.
		{"/a/b:foo", false},
		{"/a/b:foo:bar", false},
		{"/a/b:example.com/ns/img:1.0", false},
		{"/a/b:", false},
		{"/a/b:Bad Name", false},
		{"/a/b:@1", false},
		{"", false},
		{":foo", false},
		{"/", false},
		{"/:foo", false},
		{"a/b", false},
		{"./a", false},
		{"a/b:foo", false},
		{"/a/", false},
		{"/a//b", false},
		{"/a/./b", false},
		{"/a/../b", false},
		{"/a/..", false},
		{"/a/b/:foo", false},
	} {
		err := ValidateScope(c.scope)
		if c.ok && err != nil {
			t.Errorf("ValidateScope(%q): unexpected error %v", c.scope, err)
		}
		if !c.ok {
			if err == nil {
				t.Errorf("ValidateScope(%q): unexpectedly accepted", c.scope)
			} else if !strings.Contains(err.Error(), c.scope) {
				t.Errorf("ValidateScope(%q): error %q does not name the scope", c.scope, err)
			}
		}
	}
}
