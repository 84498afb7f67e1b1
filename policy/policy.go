// Package policy computes and validates the policy.json scopes of OCI layout
// references: which names a reference is looked up under in
// transports.<name> of a signature policy, and which keys a policy file may
// use there.
//
// The package is a leaf (it imports only the standard library) so that both
// the reference and the transport packages can use it without import cycles,
// and so that the security-relevant rules live in one small, easily audited
// place.
//
// Paths are treated with Unix semantics ("/" separators, absolute paths start
// with "/"), like the rest of this module.
package policy

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Identity returns the policy identity of a layout whose directory resolves
// to resolvedDir: the directory itself.
//
// The selector (NAME, @N, @DIGEST) is deliberately not part of the identity:
// "DIR", "DIR:NAME" and "DIR:@0" can all designate the same manifest, and
// which one they designate depends on index.json, which can change under us.
// Keying policy on the directory means a requirement for a layout cannot be
// bypassed by choosing a different way to name an image inside it.
// resolvedDir must be absolute, clean and free of symlinks (the caller
// resolves it), so that different spellings of one directory share a policy.
func Identity(resolvedDir string) string {
	return resolvedDir
}

// Namespaces returns the scopes searched, in order, when there is no policy
// for Identity(resolvedDir): the directory itself, then each parent, most
// specific first. "/" is never included: it would mean the same as the
// global default "" while shadowing it, which ValidateScope refuses.
//
// This is exactly what containers/image's built-in oci: transport returns, so
// that policy files written for it keep their meaning when this transport
// replaces it.
func Namespaces(resolvedDir string) []string {
	res := []string{}
	path := resolvedDir
	for {
		lastSlash := strings.LastIndex(path, "/")
		if lastSlash == -1 || path == "/" {
			break
		}
		res = append(res, path)
		path = path[:lastSlash]
	}
	return res
}

// ValidateScope checks a key of transports.<name> in a policy file. It
// accepts exactly the values Identity and Namespaces can return: absolute,
// clean paths other than "/", without ':'.
//
// Why these refusals matter: policy lookup is an exact string match against
// Identity and Namespaces. A scope that can never match (a relative path, or
// one with "..", "//", "./" or a trailing "/") would be silently ignored, and
// the image would fall back to a weaker default policy than the administrator
// wrote — so it is refused loudly instead. "/" is refused because it would
// mean the same as the default "" and could shadow it unexpectedly. Empty
// paths are refused because they identify nothing.
//
// DIR:NAME scopes are refused for the same reason, fail closed: an
// administrator who writes "/srv/images:prod": signedBy means "images named
// prod in /srv/images need a signature", but the identity of every image of
// a layout is its directory (see Identity: a NAME can be bypassed by @N or
// @DIGEST, which select the same manifest), so such a scope would never
// match and the image would get the default instead. The built-in oci:
// transport accepts these scopes with the same never-matching effect; a
// policy file that has them is refused when this transport replaces oci:,
// which is the point. A directory whose resolved path contains ':' cannot
// be given a policy of its own; its parent's applies.
func ValidateScope(scope string) error {
	if dir, name, hasName := strings.Cut(scope, ":"); hasName {
		return fmt.Errorf("invalid policy scope %q: policy applies to a whole layout directory, so %q cannot be scoped to the image %q in it (an image can be selected by :@N or :@DIGEST too); use %q", scope, scope, name, dir)
	}
	return validateDir(scope, scope)
}

func validateDir(scope, dir string) error {
	switch {
	case dir == "":
		return fmt.Errorf("invalid policy scope %q: empty path", scope)
	case !strings.HasPrefix(dir, "/"):
		return fmt.Errorf("invalid policy scope %q: path %q must be absolute", scope, dir)
	case dir == "/":
		return fmt.Errorf(`invalid policy scope %q: "/" is not allowed, use the default scope "" instead`, scope)
	}
	if cleaned := filepath.Clean(dir); cleaned != dir {
		return fmt.Errorf("invalid policy scope %q: path %q is not in canonical form, perhaps use %q", scope, dir, cleaned)
	}
	return nil
}
