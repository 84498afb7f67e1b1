package reference

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/layout"
	"github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/types"
)

const testDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func mustParse(t *testing.T, s string) Reference {
	t.Helper()
	ref, err := ParseReference(s)
	if err != nil {
		t.Fatalf("ParseReference(%q): %v", s, err)
	}
	return ref.(Reference)
}

func TestParseReferenceValid(t *testing.T) {
	tmp := t.TempDir()
	for _, c := range []struct {
		in, dir, str string
		name         string
		index        int // -1: not an index selector
		digest       digest.Digest
	}{
		{in: tmp, dir: tmp, str: tmp, index: -1},
		{in: tmp + ":", dir: tmp, str: tmp, index: -1},
		{in: tmp + ":foo", dir: tmp, str: tmp + ":foo", name: "foo", index: -1},
		{in: tmp + ":foo:bar", dir: tmp, str: tmp + ":foo:bar", name: "foo:bar", index: -1},
		{in: tmp + ":quay.io/ns/img:1.0", dir: tmp, str: tmp + ":quay.io/ns/img:1.0", name: "quay.io/ns/img:1.0", index: -1},
		{in: tmp + ":@0", dir: tmp, str: tmp + ":@0", index: 0},
		{in: tmp + ":@12", dir: tmp, str: tmp + ":@12", index: 12},
		{in: tmp + ":@012", dir: tmp, str: tmp + ":@12", index: 12},
		{in: tmp + ":@" + testDigest, dir: tmp, str: tmp + ":@" + testDigest, index: -1, digest: testDigest},
		{in: "relative/dir:foo", dir: "relative/dir", str: "relative/dir:foo", name: "foo", index: -1},
		{in: tmp + "/missing/a/b:x", dir: tmp + "/missing/a/b", str: tmp + "/missing/a/b:x", name: "x", index: -1},
	} {
		ref := mustParse(t, c.in)
		if ref.Dir() != c.dir {
			t.Errorf("%q: Dir() = %q, want %q", c.in, ref.Dir(), c.dir)
		}
		if got := ref.StringWithinTransport(); got != c.str {
			t.Errorf("%q: StringWithinTransport() = %q, want %q", c.in, got, c.str)
		}
		sel := ref.Selector()
		if sel.Name() != c.name {
			t.Errorf("%q: name %q, want %q", c.in, sel.Name(), c.name)
		}
		var want layout.Selector
		switch {
		case c.index >= 0:
			want, _ = layout.ParseSelector("@" + strconv.Itoa(c.index))
		case c.digest != "":
			want, _ = layout.ParseSelector("@" + string(c.digest))
		case c.name != "":
			want, _ = layout.ParseSelector(c.name)
		}
		if sel != want {
			t.Errorf("%q: selector %q, want %q", c.in, sel.String(), want.String())
		}
		if ref.Transport().Name() != TransportName {
			t.Errorf("%q: transport %q", c.in, ref.Transport().Name())
		}
		// Round trip.
		again, err := ref.Transport().ParseReference(ref.StringWithinTransport())
		if err != nil {
			t.Errorf("%q: re-parsing %q: %v", c.in, ref.StringWithinTransport(), err)
		} else if again != types.ImageReference(ref) {
			t.Errorf("%q: round trip gave %#v, want %#v", c.in, again, ref)
		}
	}
}

func TestParseReferenceInvalid(t *testing.T) {
	tmp := t.TempDir()
	for _, in := range []string{
		"",
		":",
		":foo",
		":@0",
		tmp + ":Bad Name",
		tmp + ":-foo",
		tmp + ":foo/",
		tmp + ":@",
		tmp + ":@-1",
		tmp + ":@+1",
		tmp + ":@abc",
		tmp + ":@1x",
		tmp + ":@99999999999999999999999",
		tmp + ":@sha256:abc",
		tmp + ":@sha256:" + strings.Repeat("z", 64),
		tmp + ":@nosuchalg:0123",
		tmp + "/file/sub:foo", // a component is a regular file
	} {
		if strings.HasPrefix(in, tmp+"/file") {
			if err := os.WriteFile(filepath.Join(tmp, "file"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		ref, err := ParseReference(in)
		if err == nil {
			t.Errorf("ParseReference(%q) unexpectedly succeeded: %#v", in, ref)
			continue
		}
		if !strings.Contains(err.Error(), "\""+in+"\"") && !strings.Contains(err.Error(), "\""+strings.TrimSuffix(in, ":")+"\"") {
			t.Errorf("ParseReference(%q): error %q does not name the input", in, err)
		}
	}
}

func TestConstructors(t *testing.T) {
	tmp := t.TempDir()
	ref, err := NewReference(tmp, "foo")
	if err != nil || ref.StringWithinTransport() != tmp+":foo" {
		t.Errorf("NewReference: %v, %v", ref, err)
	}
	ref, err = NewReference(tmp, "")
	if err != nil || ref.StringWithinTransport() != tmp {
		t.Errorf("NewReference untagged: %v, %v", ref, err)
	}
	ref, err = NewIndexReference(tmp, 3)
	if err != nil || ref.StringWithinTransport() != tmp+":@3" {
		t.Errorf("NewIndexReference: %v, %v", ref, err)
	}
	ref, err = NewDigestReference(tmp, testDigest)
	if err != nil || ref.StringWithinTransport() != tmp+":@"+testDigest {
		t.Errorf("NewDigestReference: %v, %v", ref, err)
	}

	for _, c := range []struct {
		desc, mention string
		f             func() (types.ImageReference, error)
	}{
		{"colon in dir", "/a:b", func() (types.ImageReference, error) { return NewReference("/a:b", "foo") }},
		{"colon in dir, untagged", "/a:b", func() (types.ImageReference, error) { return NewReference("/a:b", "") }},
		{"colon in dir, index", "/a:b", func() (types.ImageReference, error) { return NewIndexReference("/a:b", 0) }},
		{"empty dir", `":foo"`, func() (types.ImageReference, error) { return NewReference("", "foo") }},
		{"bad name", "Bad Name", func() (types.ImageReference, error) { return NewReference(tmp, "Bad Name") }},
		{"negative index", "@-1", func() (types.ImageReference, error) { return NewIndexReference(tmp, -1) }},
		{"bad digest", "sha256:nope", func() (types.ImageReference, error) { return NewDigestReference(tmp, "sha256:nope") }},
	} {
		ref, err := c.f()
		if err == nil {
			t.Errorf("%s: unexpectedly succeeded: %#v", c.desc, ref)
		} else if !strings.Contains(err.Error(), c.mention) {
			t.Errorf("%s: error %q does not mention %q", c.desc, err, c.mention)
		}
	}
}

func TestTransportName(t *testing.T) {
	tr := NewTransport("oci")
	ref, err := tr.ParseReference("/tmp/x:foo")
	if err != nil {
		t.Fatal(err)
	}
	if ref.Transport().Name() != "oci" || ref.Transport() != types.ImageTransport(tr) {
		t.Errorf("transport %#v, want %#v", ref.Transport(), tr)
	}
	if _, err := tr.ParseReference(":x"); err == nil || !strings.Contains(err.Error(), "oci reference") {
		t.Errorf("error %v does not name the transport", err)
	}
}

func TestDockerReference(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"/tmp/x:quay.io/ns/img:1.0", "quay.io/ns/img:1.0"},
		{"/tmp/x:docker.io/library/busybox:latest", "docker.io/library/busybox:latest"},
		{"/tmp/x:example.com:5000/img:v1", "example.com:5000/img:v1"},
		{"/tmp/x:quay.io/ns/img@" + testDigest, "quay.io/ns/img@" + testDigest},
		{"/tmp/x:busybox:latest", ""},   // not fully qualified
		{"/tmp/x:busybox", ""},          // short name
		{"/tmp/x:quay.io/ns/img", ""},   // name only
		{"/tmp/x:foo", ""},              // plain tag
		{"/tmp/x:Quay.io/ns/Img:1", ""}, // not a valid docker name
		{"/tmp/x", ""},                  // no selector
		{"/tmp/x:@0", ""},               // index
		{"/tmp/x:@" + testDigest, ""},   // digest
	} {
		ref := mustParse(t, c.in)
		got := ""
		if dr := ref.DockerReference(); dr != nil {
			got = dr.String()
		}
		if got != c.want {
			t.Errorf("DockerReference(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestPolicyIdentity(t *testing.T) {
	tmp, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	real := filepath.Join(tmp, "real")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, filepath.Join(tmp, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(tmp, "nowhere"), filepath.Join(tmp, "dangling")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(tmp)

	for _, c := range []struct{ in, identity string }{
		{real, real},
		{real + ":foo", real},
		{real + ":@" + testDigest, real},
		{tmp + "/link:foo", real},
		{tmp + "/link/sub/dir", real + "/sub/dir"},
		{"link", real},
		{"./link/../real", real},
		{"real/x", real + "/x"},
		{tmp + "//real/", real},
		{tmp + "/missing/../real", real},
	} {
		ref := mustParse(t, c.in)
		if got := ref.PolicyConfigurationIdentity(); got != c.identity {
			t.Errorf("%q: identity %q, want %q", c.in, got, c.identity)
		}
		if got := ref.ResolvedDir(); got != c.identity {
			t.Errorf("%q: ResolvedDir %q, want %q", c.in, got, c.identity)
		}
		ns := ref.PolicyConfigurationNamespaces()
		if len(ns) == 0 || ns[0] != c.identity {
			t.Errorf("%q: namespaces %v do not start with the identity", c.in, ns)
		}
		for i, n := range ns {
			if i > 0 && !strings.HasPrefix(ns[i-1], n+"/") {
				t.Errorf("%q: namespace %q is not a parent of %q", c.in, n, ns[i-1])
			}
			if err := ref.Transport().ValidatePolicyConfigurationScope(n); err != nil {
				t.Errorf("%q: namespace %q refused as a scope: %v", c.in, n, err)
			}
		}
	}
	want := []string{"/a/b/c", "/a/b", "/a"}
	if got := mustParse(t, "/a/b/c:x").PolicyConfigurationNamespaces(); !reflect.DeepEqual(got, want) {
		t.Errorf("namespaces %v, want %v", got, want)
	}

	if _, err := ParseReference("dangling:foo"); err == nil || !strings.Contains(err.Error(), "dangling:foo") {
		t.Errorf("dangling symlink: got %v", err)
	}
}

func TestValidatePolicyConfigurationScope(t *testing.T) {
	tr := NewTransport(TransportName)
	for _, c := range []struct {
		scope string
		ok    bool
	}{
		{"/a/b", true},
		{"/a/b:foo", false}, // identity is the directory: it would never match
		{"/a/b:quay.io/ns/img:1.0", false},
		{"/a/b:Bad Name", false},
		{"/a/b:@0", false},
		{"/a/b:", false},
		{"a/b", false},
		{"/", false},
		{"/a/../b", false},
		{"/a/b/", false},
	} {
		err := tr.ValidatePolicyConfigurationScope(c.scope)
		if c.ok != (err == nil) {
			t.Errorf("scope %q: got %v, want ok=%v", c.scope, err, c.ok)
		}
		if err != nil && !strings.Contains(err.Error(), c.scope) {
			t.Errorf("scope %q: error %q does not name it", c.scope, err)
		}
	}
}

func TestNewImageDestinationRefusals(t *testing.T) {
	tmp := t.TempDir()
	ctx := context.Background()
	for _, c := range []struct{ in, mention string }{
		{tmp + ":@0", "a destination must be PATH or PATH:NAME"},
		{tmp + ":@" + testDigest, "a destination must be PATH or PATH:NAME"},
		{tmp + "/missing/layout:foo", "does not exist"},
	} {
		ref := mustParse(t, c.in)
		dest, err := ref.NewImageDestination(ctx, nil)
		if err == nil {
			dest.Close()
			t.Errorf("%q: NewImageDestination unexpectedly succeeded", c.in)
			continue
		}
		if !strings.Contains(err.Error(), c.mention) || !strings.Contains(err.Error(), c.in) {
			t.Errorf("%q: error %q should mention %q and the reference", c.in, err, c.mention)
		}
	}
}

// This guards the assumption that references can be
// compared with ==.
var _ = layout.Selector{} == layout.Selector{}
