package mirror

import (
	"errors"
	"fmt"
	"path"
	"strings"

	dockerref "go.podman.io/image/v5/docker/reference"
)

// Naming says which part of a source image's name its destination name
// keeps. Names are what a user meets in every tool, so the default keeps
// the whole Docker identity in a layout: an entry named
// quay.io/ns/app:v1 is what oci-layout:PATH:quay.io/ns/app:v1 selects, the
// identity signatures are checked against (its DockerReference), and the
// repository:tag a registry serving the layout would answer to.
type Naming int

const (
	// NamingDefault is NamingFull into a layout and NamingRepo into a
	// registry.
	NamingDefault Naming = iota
	// NamingFull keeps REG/REPO:TAG whole (skopeo sync --scoped): into a
	// registry, docker://DEST/PREFIX receives PREFIX/REG/REPO:TAG.
	NamingFull
	// NamingRepo drops the registry host: REPO:TAG (quay.io/ns/app:v1
	// becomes ns/app:v1).
	NamingRepo
	// NamingBase keeps the last path component only: BASE:TAG
	// (quay.io/ns/app:v1 becomes app:v1), skopeo sync's default.
	NamingBase
)

// ParseNaming reads "full", "repo" or "base" ("" is NamingDefault).
func ParseNaming(s string) (Naming, error) {
	switch s {
	case "":
		return NamingDefault, nil
	case "full":
		return NamingFull, nil
	case "repo":
		return NamingRepo, nil
	case "base":
		return NamingBase, nil
	}
	return 0, fmt.Errorf("invalid naming %q: must be full, repo or base", s)
}

// String is the name ParseNaming reads.
func (n Naming) String() string {
	return [...]string{"default", "full", "repo", "base"}[n]
}

// imageName is a source image's name split into its parts. domain is ""
// for a layout entry whose name is not a fully qualified Docker reference
// (app:v1); ref is ":TAG" or "@DIGEST".
type imageName struct {
	domain, path, ref string
}

// tag is the tag of the name, "" when it is by digest.
func (n imageName) tag() string {
	if t, ok := strings.CutPrefix(n.ref, ":"); ok {
		return t
	}
	return ""
}

// repo is the name without its tag or digest: REG/REPO or REPO.
func (n imageName) repo() string {
	if n.domain == "" {
		return n.path
	}
	return n.domain + "/" + n.path
}

func (n imageName) String() string { return n.repo() + n.ref }

// nameOfDocker splits a tagged or digested Docker reference.
func nameOfDocker(ref dockerref.Named) imageName {
	n := imageName{domain: dockerref.Domain(ref), path: dockerref.Path(ref)}
	switch r := ref.(type) {
	case dockerref.Canonical:
		n.ref = "@" + r.Digest().String()
	case dockerref.Tagged:
		n.ref = ":" + r.Tag()
	}
	return n
}

// nameOfEntry splits a layout entry name. A fully qualified Docker
// reference (quay.io/ns/app:v1, docker.io/library/alpine:3) keeps its
// registry; any other name (app:v1, team/app) is a path with no registry,
// and a name without tag or digest is tagged "latest" as Docker would.
func nameOfEntry(name string) imageName {
	if n, ok := nameOfQualified(name); ok {
		return n
	}
	if i := strings.LastIndex(name, "@"); i > 0 {
		return imageName{path: name[:i], ref: name[i:]}
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") && i > 0 {
		return imageName{path: name[:i], ref: name[i:]}
	}
	return imageName{path: name, ref: ":latest"}
}

// nameOfQualified splits name when it is a fully qualified Docker
// reference with a tag or digest. Such a name has a "/" (REG/REPO, as
// ParseNamed's canonical form always has): without one, the parse, which
// was a third of the CPU of a 100,000-name re-sync from a layout, is
// skipped, since it could only fail.
func nameOfQualified(name string) (imageName, bool) {
	if !strings.Contains(name, "/") {
		return imageName{}, false
	}
	ref, err := dockerref.ParseNamed(name)
	if err != nil {
		return imageName{}, false
	}
	if _, ok := ref.(dockerref.NamedTagged); ok || isCanonical(ref) {
		return nameOfDocker(ref), true
	}
	return imageName{}, false
}

func isCanonical(ref dockerref.Named) bool {
	_, ok := ref.(dockerref.Canonical)
	return ok
}

// scopedPath is the part of n the naming keeps, without tag or digest.
func scopedPath(n imageName, naming Naming) string {
	switch naming {
	case NamingRepo:
		return n.path
	case NamingBase:
		return path.Base(n.path)
	default:
		return n.repo()
	}
}

// withSuffix appends suffix to a tag (skopeo's --append-suffix). A digest
// cannot take one, so names by digest keep their digest unchanged.
func withSuffix(ref, suffix string) string {
	if strings.HasPrefix(ref, ":") {
		return ref + suffix
	}
	return ref
}

// layoutEntryName is the entry name n gets in a destination layout.
func layoutEntryName(n imageName, naming Naming, suffix string) (string, error) {
	if naming == NamingDefault {
		naming = NamingFull
	}
	name := scopedPath(n, naming) + withSuffix(n.ref, suffix)
	if err := validName(name); err != nil {
		return "", fmt.Errorf("destination name for %s: %w", n, err)
	}
	return name, nil
}

// registryImageName is the Docker reference n gets under a destination
// registry prefix REG/PREFIX: REG/PREFIX/REPO:TAG by default (the source
// registry dropped, because the destination registry replaces it),
// REG/PREFIX/REG0/REPO:TAG with NamingFull, REG/PREFIX/BASE:TAG with
// NamingBase.
func registryImageName(n imageName, prefix string, naming Naming, suffix string) (dockerref.Named, error) {
	if naming == NamingDefault {
		naming = NamingRepo
	}
	p := scopedPath(n, naming)
	if p == "" {
		return nil, errors.New("empty repository name")
	}
	s := strings.TrimSuffix(prefix, "/") + "/" + p + withSuffix(n.ref, suffix)
	ref, err := dockerref.ParseNormalizedNamed(s)
	if err != nil {
		return nil, fmt.Errorf("destination name %q for %s: %w", s, n, err)
	}
	return ref, nil
}
