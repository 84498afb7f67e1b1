package main

import (
	"errors"
	"reflect"
	"testing"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestSyncEndpoint(t *testing.T) {
	for _, tc := range []struct {
		arg, transport, extra string
		kind, rest            string
		usage                 bool
	}{
		{arg: "docker://quay.io/ns/app", kind: "docker", rest: "quay.io/ns/app"},
		{arg: "docker://reg:5000/mirror", kind: "docker", rest: "reg:5000/mirror"},
		{arg: "oci-layout:/srv/mirror", kind: "oci-layout", rest: "/srv/mirror"},
		{arg: "./mirror", kind: "oci-layout", rest: "./mirror"},
		{arg: "quay.io/ns/app", transport: "docker", kind: "docker", rest: "quay.io/ns/app"},
		{arg: "sync.yml", transport: "yaml", extra: "yaml", kind: "yaml", rest: "sync.yml"},
		{arg: "/srv/m", transport: "oci-layout", kind: "oci-layout", rest: "/srv/m"},
		{arg: "oci-layout:/srv/mirror:app:v1", usage: true}, // a whole layout, not one image
		{arg: "dir:/tmp/x", usage: true},                    // other transports are refused, not taken for paths
		{arg: "sync.yml", transport: "yaml", usage: true},   // yaml is not a destination
		{arg: "x", transport: "dir", extra: "yaml", usage: true},
	} {
		kind, rest, err := syncEndpoint(tc.arg, tc.transport, tc.extra)
		if tc.usage {
			var ue usageError
			if !errors.As(err, &ue) {
				t.Errorf("syncEndpoint(%q, %q) = %q, %q, %v; want a usage error", tc.arg, tc.transport, kind, rest, err)
			}
			continue
		}
		if err != nil || kind != tc.kind || rest != tc.rest {
			t.Errorf("syncEndpoint(%q, %q) = %q, %q, %v; want %q, %q", tc.arg, tc.transport, kind, rest, err, tc.kind, tc.rest)
		}
	}
}

func TestSyncNamingFlag(t *testing.T) {
	for _, tc := range []struct {
		naming string
		scoped bool
		want   string
		usage  bool
	}{
		{want: "default"},
		{scoped: true, want: "full"},
		{naming: "full", scoped: true, want: "full"},
		{naming: "base", want: "base"},
		{naming: "repo", scoped: true, usage: true},
		{naming: "other", usage: true},
	} {
		o := &syncOptions{naming: tc.naming, scoped: tc.scoped}
		n, err := o.namingFlag()
		var ue usageError
		if tc.usage != errors.As(err, &ue) || !tc.usage && n.String() != tc.want {
			t.Errorf("--naming %q --scoped=%v: %v, %v; want %s (usage error: %v)", tc.naming, tc.scoped, n, err, tc.want, tc.usage)
		}
	}
}

func TestSyncTagFilter(t *testing.T) {
	o := &syncOptions{tags: `^v?[0-9]`, excludeTags: `\.(sig|att)$`}
	f, err := o.tagFilter()
	if err != nil {
		t.Fatal(err)
	}
	for tag, want := range map[string]bool{"1.0": true, "v2": true, "latest": false, "1.0.sig": false, "sha256-ab.att": false} {
		if f(tag) != want {
			t.Errorf("filter(%q) = %v, want %v", tag, !want, want)
		}
	}
	if f, _ := (&syncOptions{}).tagFilter(); f != nil {
		t.Errorf("no --tags nor --exclude-tags must mean no filter")
	}
	if _, err := (&syncOptions{excludeTags: "("}).tagFilter(); err == nil {
		t.Errorf("an invalid --exclude-tags was accepted")
	}
}

func TestSyncParsePlatforms(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want []imgspecv1.Platform
		bad  bool
	}{
		{in: nil},
		{in: []string{"linux/amd64"}, want: []imgspecv1.Platform{{OS: "linux", Architecture: "amd64"}}},
		{in: []string{"linux/arm64/v8", "windows/amd64"}, want: []imgspecv1.Platform{{OS: "linux", Architecture: "arm64", Variant: "v8"}, {OS: "windows", Architecture: "amd64"}}},
		{in: []string{"linux"}, bad: true},
		{in: []string{"linux//v8"}, bad: true},
		{in: []string{"linux/arm/v7/x"}, bad: true},
	} {
		got, err := parsePlatforms(c.in)
		if (err != nil) != c.bad {
			t.Errorf("%v: error %v, want error %v", c.in, err, c.bad)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%v: %+v, want %+v", c.in, got, c.want)
		}
	}
}
