package mirror

import (
	"strings"
	"testing"

	dockerref "go.podman.io/image/v5/docker/reference"
)

func TestNameOfEntry(t *testing.T) {
	for _, tc := range []struct {
		in                string
		domain, path, ref string
	}{
		{"quay.io/ns/app:v1", "quay.io", "ns/app", ":v1"},
		{"docker.io/library/alpine:3", "docker.io", "library/alpine", ":3"},
		{"localhost:5000/app:v1", "localhost:5000", "app", ":v1"},
		{"quay.io/ns/app@sha256:" + hex64, "quay.io", "ns/app", "@sha256:" + hex64},
		{"app:v1", "", "app", ":v1"},
		{"team/app:1.0", "", "team/app", ":1.0"},
		{"app", "", "app", ":latest"},
		{"quay.io/ns/app", "", "quay.io/ns/app", ":latest"},
		{"alpine:3", "", "alpine", ":3"},
		{"localhost:5000", "", "localhost", ":5000"},
		{"app@sha256:" + hex64, "", "app", "@sha256:" + hex64},
	} {
		// Without a "/" a name is never a qualified reference: the parse
		// nameOfEntry skips for them must say so too.
		if _, err := dockerref.ParseNamed(tc.in); !strings.Contains(tc.in, "/") && err == nil {
			t.Errorf("ParseNamed(%q) succeeds without a /", tc.in)
		}
		got := nameOfEntry(tc.in)
		if got.domain != tc.domain || got.path != tc.path || got.ref != tc.ref {
			t.Errorf("nameOfEntry(%q) = %+v, want {%s %s %s}", tc.in, got, tc.domain, tc.path, tc.ref)
		}
	}
}

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestLayoutEntryName(t *testing.T) {
	for _, tc := range []struct {
		src    string
		naming Naming
		suffix string
		want   string
	}{
		{"quay.io/ns/app:v1", NamingDefault, "", "quay.io/ns/app:v1"},
		{"quay.io/ns/app:v1", NamingFull, "", "quay.io/ns/app:v1"},
		{"quay.io/ns/app:v1", NamingRepo, "", "ns/app:v1"},
		{"quay.io/ns/app:v1", NamingBase, "", "app:v1"},
		{"alpine:3", NamingDefault, "", "docker.io/library/alpine:3"},
		{"quay.io/ns/app:v1", NamingDefault, "-mirror", "quay.io/ns/app:v1-mirror"},
		{"quay.io/ns/app@sha256:" + hex64, NamingDefault, "-mirror", "quay.io/ns/app@sha256:" + hex64},
		{"127.0.0.1:5000/a/b:latest", NamingDefault, "", "127.0.0.1:5000/a/b:latest"},
	} {
		ref, err := dockerref.ParseNormalizedNamed(tc.src)
		if err != nil {
			t.Fatal(err)
		}
		got, err := layoutEntryName(nameOfDocker(ref), tc.naming, tc.suffix)
		if err != nil || got != tc.want {
			t.Errorf("layoutEntryName(%s, %s, %q) = %q, %v; want %q", tc.src, tc.naming, tc.suffix, got, err, tc.want)
		}
	}
}

func TestRegistryImageName(t *testing.T) {
	for _, tc := range []struct {
		entry  string
		prefix string
		naming Naming
		want   string
	}{
		{"quay.io/ns/app:v1", "reg.internal:5000/mirror", NamingDefault, "reg.internal:5000/mirror/ns/app:v1"},
		{"quay.io/ns/app:v1", "reg.internal:5000/mirror/", NamingDefault, "reg.internal:5000/mirror/ns/app:v1"},
		{"quay.io/ns/app:v1", "reg.internal:5000/mirror", NamingFull, "reg.internal:5000/mirror/quay.io/ns/app:v1"},
		{"quay.io/ns/app:v1", "reg.internal:5000/mirror", NamingBase, "reg.internal:5000/mirror/app:v1"},
		{"app:v1", "reg.internal:5000", NamingDefault, "reg.internal:5000/app:v1"},
		{"app", "reg.internal:5000/x", NamingDefault, "reg.internal:5000/x/app:latest"},
		{"quay.io/ns/app@sha256:" + hex64, "reg.internal:5000/m", NamingDefault, "reg.internal:5000/m/ns/app@sha256:" + hex64},
	} {
		got, err := registryImageName(nameOfEntry(tc.entry), tc.prefix, tc.naming, "")
		if err != nil || got.String() != tc.want {
			t.Errorf("registryImageName(%s, %s, %s) = %v, %v; want %s", tc.entry, tc.prefix, tc.naming, got, err, tc.want)
		}
	}
	if _, err := registryImageName(nameOfEntry("Bad/Upper:v1"), "reg.internal", NamingDefault, ""); err == nil {
		t.Errorf("an upper-case repository was accepted as a registry name")
	}
}

func TestParseNaming(t *testing.T) {
	for in, want := range map[string]Naming{"": NamingDefault, "full": NamingFull, "repo": NamingRepo, "base": NamingBase} {
		if got, err := ParseNaming(in); err != nil || got != want {
			t.Errorf("ParseNaming(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseNaming("scoped"); err == nil {
		t.Errorf("ParseNaming accepted an unknown naming")
	}
}

// TestItemTag checks that an item, which keeps only where its name's tag
// or digest starts in its source's name, gives the tag the name has, for
// layout entries and registry references alike.
func TestItemTag(t *testing.T) {
	layoutNames := []string{"quay.io/ns/app:v1", "docker.io/library/alpine:3", "localhost:5000/app:v1",
		"quay.io/ns/app@sha256:" + hex64, "quay.io/ns/app:v1@sha256:" + hex64, "app:v1", "team/app:1.0", "app",
		"quay.io/ns/app", "alpine:3", "localhost:5000", "app@sha256:" + hex64, "a:latest", "ns/app:latest"}
	for _, name := range layoutNames {
		n := nameOfEntry(name)
		if got := newItem(&origin{layout: "l"}, name, n); got.tag() != n.tag() || got.srcName() != name {
			t.Errorf("layout entry %q: tag %q, name %q; want %q, %q", name, got.tag(), got.srcName(), n.tag(), name)
		}
	}
	for _, ref := range []string{"quay.io/ns/app:v1", "quay.io/ns/app@sha256:" + hex64, "quay.io/ns/app:v1@sha256:" + hex64, "alpine:3"} {
		named, err := dockerref.ParseNormalizedNamed(ref)
		if err != nil {
			t.Fatal(err)
		}
		n := nameOfDocker(named)
		listed := newItem(&origin{repo: named.Name()}, n.ref, n) // a tag of a listed repository
		whole := newItem(&origin{}, named.String(), n)           // a single image, named as given
		for _, it := range []*item{listed, whole} {
			if it.tag() != n.tag() {
				t.Errorf("%q: tag %q, want %q", ref, it.tag(), n.tag())
			}
		}
		if _, both := named.(dockerref.NamedTagged); !both || !isCanonical(named) {
			if listed.srcName() != named.String() {
				t.Errorf("%q: listed as %q, want %q", ref, listed.srcName(), named.String())
			}
		}
		if whole.srcName() != named.String() {
			t.Errorf("%q: named %q, want %q", ref, whole.srcName(), named.String())
		}
	}
}
