package serve

import "strings"

// validRepo and validTag check the distribution spec's grammars for
// repository names and tags,
//
//	[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*  (at most 255 bytes)
//	[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
//
// by hand rather than by regexp: a reload checks every name of index.json,
// and at 100,000 names the regexps were a third of its time.
// TestGrammars checks them against the regexps.
func validRepo(r string) bool {
	if len(r) > 255 {
		return false
	}
	for {
		i := strings.IndexByte(r, '/')
		if i < 0 {
			return validPathComponent(r)
		}
		if !validPathComponent(r[:i]) {
			return false
		}
		r = r[i+1:]
	}
}

// validPathComponent checks one '/'-separated component of a repository
// name: runs of [a-z0-9] joined by '.', '_', "__" or any number of '-'.
func validPathComponent(c string) bool {
	i := 0
	for {
		start := i
		for i < len(c) && (c[i] >= 'a' && c[i] <= 'z' || c[i] >= '0' && c[i] <= '9') {
			i++
		}
		if i == start {
			return false // empty, or a separator at either end or doubled
		}
		if i == len(c) {
			return true
		}
		switch c[i] {
		case '.':
			i++
		case '_':
			i++
			if i < len(c) && c[i] == '_' {
				i++
			}
		case '-':
			for i < len(c) && c[i] == '-' {
				i++
			}
		default:
			return false
		}
	}
}

func validTag(t string) bool {
	if len(t) == 0 || len(t) > 128 || t[0] == '.' || t[0] == '-' {
		return false
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// Names maps index.json ref.name annotations to repositories and tags.
//
// The rule, in order:
//
//   - HOST/PATH:TAG, where HOST (the first '/'-separated component)
//     contains '.' or ':' or is "localhost", as a registry host does, is
//     repository PATH, tag TAG. So what `ocilayout sync` or `ocilayout copy
//     docker://quay.io/ns/app:v1 oci-layout:DIR:quay.io/ns/app:v1` stored
//     is pulled as 127.0.0.1:5000/ns/app:v1, the name it came from with the
//     mirror's host, which is what a registries.conf mirror asks for.
//   - PATH:TAG (no host) is repository PATH, tag TAG.
//   - TAG alone (no ':', as in "latest" or "v1") is repository DefaultRepo,
//     tag TAG, so a layout of bare tags is served under one repository.
//
// TAG is what follows the last ':'; a name whose repository or tag part
// does not match the distribution grammar (upper case, say) is not served
// by name, only by digest. Two names can map to the same repository and
// tag (quay.io/a:1 and docker.io/a:1): the first in index.json order is
// served, the others by digest only.
//
// Reverse (a push of repository R, tag T): the name of the entry that
// already maps to R:T, so a tag moves in place and keeps its host; for a
// new tag, "R:T", or "localhost/R:T" when R itself starts with a
// host-like component (a push to 127.0.0.1:5000/quay.io/ns/app:v1), which
// the first rule would strip. Applying the rule to the name gives R:T
// back, so every tag pushed is pulled under the name it was pushed as.
type Names struct {
	// DefaultRepo is the repository of names without a tag part; "" means
	// such names are reachable by digest only.
	DefaultRepo string
}

// Split maps a ref.name to its repository and tag; ok is false when the
// name is not served by name.
func (n Names) Split(name string) (repo, tag string, ok bool) {
	i := strings.LastIndexByte(name, ':')
	if i < 0 || strings.Contains(name[i+1:], "/") {
		if n.DefaultRepo == "" || strings.Contains(name, "/") || !validTag(name) {
			return "", "", false
		}
		return n.DefaultRepo, name, true
	}
	repo, tag = name[:i], name[i+1:]
	if first, rest, found := strings.Cut(repo, "/"); found && isHost(first) {
		repo = rest
	}
	if !validRepo(repo) || !validTag(tag) {
		return "", "", false
	}
	return repo, tag, true
}

// Join is the ref.name of a new tag pushed as repo:tag.
func (n Names) Join(repo, tag string) string {
	if first, _, found := strings.Cut(repo, "/"); found && isHost(first) {
		return "localhost/" + repo + ":" + tag
	}
	return repo + ":" + tag
}

// isHost reports whether a first path component names a registry, as
// containers/image and Docker decide it.
func isHost(c string) bool {
	return strings.ContainsAny(c, ".:") || c == "localhost"
}
