package serve

import "testing"

func TestNamesSplit(t *testing.T) {
	n := Names{DefaultRepo: "images"}
	for _, tc := range []struct {
		name, repo, tag string
		ok              bool
	}{
		{"quay.io/ns/app:v1", "ns/app", "v1", true},
		{"registry.example.com/ns/app:v1", "ns/app", "v1", true},
		{"localhost:5000/app:latest", "app", "latest", true},
		{"localhost/app:1.0", "app", "1.0", true},
		{"docker.io/library/alpine:3", "library/alpine", "3", true},
		{"ns/app:v1", "ns/app", "v1", true},
		{"app:v1", "app", "v1", true},
		{"v1", "images", "v1", true},
		{"latest", "images", "latest", true},
		{"localhost:5000/app", "", "", false}, // a host and a path, no tag
		{"ns/app", "", "", false},             // a path without a tag
		{"App:v1", "", "", false},             // upper case is not a repository
		{"app:-bad", "", "", false},           // not a tag
		{"quay.io/ns/app@sha256:0123", "", "", false},
	} {
		repo, tag, ok := n.Split(tc.name)
		if repo != tc.repo || tag != tc.tag || ok != tc.ok {
			t.Errorf("Split(%q) = %q, %q, %v; want %q, %q, %v", tc.name, repo, tag, ok, tc.repo, tc.tag, tc.ok)
		}
	}
	if _, _, ok := (Names{}).Split("v1"); ok {
		t.Error("a bare tag without DefaultRepo is served by name")
	}
}

// Join is the inverse of Split for what a push writes.
func TestNamesJoinRoundTrip(t *testing.T) {
	n := Names{DefaultRepo: "images"}
	for _, tc := range []struct{ repo, tag, name string }{
		{"ns/app", "v1", "ns/app:v1"},
		{"images", "v1", "images:v1"},
		{"conformance/repo1", "tag-1", "conformance/repo1:tag-1"},
		{"quay.io/ns/app", "v1", "localhost/quay.io/ns/app:v1"},
		{"localhost/app", "v1", "localhost/localhost/app:v1"},
	} {
		name := n.Join(tc.repo, tc.tag)
		if name != tc.name {
			t.Errorf("Join(%q, %q) = %q, want %q", tc.repo, tc.tag, name, tc.name)
		}
		repo, tag, ok := n.Split(name)
		if !ok || repo != tc.repo || tag != tc.tag {
			t.Errorf("Split(Join(%q, %q)) = %q, %q, %v", tc.repo, tc.tag, repo, tag, ok)
		}
		if !validName(name) {
			t.Errorf("Join(%q, %q) = %q is not a valid ref.name", tc.repo, tc.tag, name)
		}
	}
}
