package serve

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

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

// TestGrammars: validRepo and validTag accept exactly what the
// distribution spec's regexps accept, on strings of the characters that
// matter (separators, both cases, '/', ':') and at the length bounds.
func TestGrammars(t *testing.T) {
	repoRegexp := regexp.MustCompile(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$`)
	tagRegexp := regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
	inputs := []string{"", "a", strings.Repeat("a", 255), strings.Repeat("a", 256), strings.Repeat("a/", 127) + "a", strings.Repeat("a", 128), strings.Repeat("a", 129), "_" + strings.Repeat("a", 127), "a\n", "é"}
	const alphabet = "a0Z._-/:"
	r := rand.New(rand.NewPCG(15, 4))
	for range 200000 {
		b := make([]byte, r.IntN(9))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		inputs = append(inputs, string(b))
	}
	repos, tags := 0, 0
	for _, s := range inputs {
		want := len(s) <= 255 && repoRegexp.MatchString(s)
		if got := validRepo(s); got != want {
			t.Errorf("validRepo(%q) = %v, the grammar says %v", s, got, want)
		}
		if want {
			repos++
		}
		want = tagRegexp.MatchString(s)
		if got := validTag(s); got != want {
			t.Errorf("validTag(%q) = %v, the grammar says %v", s, got, want)
		}
		if want {
			tags++
		}
	}
	if repos < 1000 || tags < 1000 {
		t.Errorf("only %d repositories and %d tags valid: the inputs no longer exercise the grammars", repos, tags)
	}
}
