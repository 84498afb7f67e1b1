package policy

import (
	"errors"
	"reflect"
	"regexp"
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
			if err := ValidateScope(ns, nil); err != nil {
				t.Errorf("namespace %q of %q refused by ValidateScope: %v", ns, c.dir, err)
			}
		}
	}
}

// testNameRegexp and testName stand in for layout.ValidateName.
var testNameRegexp = regexp.MustCompile(`^[a-z0-9]+(?:[-._:@+][a-z0-9]+)*(?:/[a-z0-9]+(?:[-._:@+][a-z0-9]+)*)*$`)

func testName(name string) error {
	if !testNameRegexp.MatchString(name) {
		return errors.New("bad name")
	}
	return nil
}

func TestValidateScope(t *testing.T) {
	for _, c := range []struct {
		scope    string
		nameFunc func(string) error
		ok       bool
	}{
		{"/a", testName, true},
		{"/a/b/c", testName, true},
		{"/a/b:foo", testName, true},
		{"/a/b:foo:bar", testName, true},
		{"/a/b:example.com/ns/img:1.0", testName, true},
		{"/a/b", nil, true},
		{"/a/b:foo", nil, false},
		{"/a/b:", testName, false},
		{"/a/b:Bad Name", testName, false},
		{"/a/b:@1", testName, false},
		{"", testName, false},
		{":foo", testName, false},
		{"/", testName, false},
		{"/:foo", testName, false},
		{"a/b", testName, false},
		{"./a", testName, false},
		{"a/b:foo", testName, false},
		{"/a/", testName, false},
		{"/a//b", testName, false},
		{"/a/./b", testName, false},
		{"/a/../b", testName, false},
		{"/a/..", testName, false},
		{"/a/b/:foo", testName, false},
	} {
		err := ValidateScope(c.scope, c.nameFunc)
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
