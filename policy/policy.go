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
// accepts exactly the values Identity and Namespaces can return (absolute,
// clean paths other than "/"), plus DIR:NAME, where DIR obeys the same rules
// and NAME passes validateName (a ref.name check supplied by the caller,
// which keeps this package free of the layout package). If validateName is
// nil, DIR:NAME scopes are refused.
//
// Why these refusals matter: policy lookup is an exact string match against
// Identity and Namespaces. A scope that can never match (a relative path, or
// one with "..", "//", "./" or a trailing "/") would be silently ignored, and
// the image would fall back to a weaker default policy than the administrator
// wrote — so it is refused loudly instead. "/" is refused because it would
// mean the same as the default "" and could shadow it unexpectedly. Empty
// paths are refused because they identify nothing.
//
// DIR:NAME scopes are accepted only because the built-in oci: transport
// accepts them, and a policy file written for it must keep loading after
// this transport replaces oci:. They do not select an image (the NAME is not
// part of Identity, see there): such a scope only matches a directory whose
// resolved path itself contains ':', e.g. reached through a symlink. NAME is
// still validated so that a typo is reported rather than ignored.
func ValidateScope(scope string, validateName func(string) error) error {
	dir, name, hasName := strings.Cut(scope, ":")
	if err := validateDir(scope, dir); err != nil {
		return err
	}
	if !hasName {
		return nil
	}
	if validateName == nil {
		return fmt.Errorf("invalid policy scope %q: DIR:NAME scopes are not supported here", scope)
	}
	if err := validateName(name); err != nil {
		return fmt.Errorf("invalid policy scope %q: %w", scope, err)
	}
	return nil
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
