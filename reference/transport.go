// Package reference implements containers/image references to OCI image
// layouts: PATH[:NAME|:@N|:@ALG:HEX].
//
// PATH ends at the first ':'; the rest is a layout.Selector. PATH may be
// relative and need not exist yet (a destination creates it). Policy
// identities use the absolute, symlink-free form of PATH, resolved when the
// reference is created.
package reference

import (
	"fmt"
	"strings"

	"github.com/ocilayout/ocilayout/layout"
	"github.com/ocilayout/ocilayout/policy"
	"go.podman.io/image/v5/types"
)

// TransportName is the name this module's transport is registered under by
// default; a distinct name lets it coexist with containers/image's own oci:.
const TransportName = "oci-layout"

// Transport is a types.ImageTransport for OCI image layouts. It is a value
// type carrying its registered name, so the same implementation can be
// registered as "oci-layout" and, replacing the built-in, as "oci", and
// references report the name they were parsed under
// (ref.Transport().Name()), which keeps transports.ImageName round-tripping.
type Transport struct{ name string }

// NewTransport returns the transport registered as name (normally
// TransportName, or "oci" when replacing the built-in transport).
func NewTransport(name string) Transport { return Transport{name: name} }

// Name returns the name the transport is registered under.
func (t Transport) Name() string { return t.name }

// ParseReference parses PATH[:SELECTOR] (without the "NAME:" transport
// prefix) into a reference carrying t.
func (t Transport) ParseReference(s string) (types.ImageReference, error) {
	return Parse(t, s)
}

// ValidatePolicyConfigurationScope checks a transports.<name> key of a
// policy file; see policy.ValidateScope for the rules and why they exist.
// containers/image calls it when policy.json is parsed, so a bad scope is
// reported then rather than silently never matching.
func (t Transport) ValidatePolicyConfigurationScope(scope string) error {
	return policy.ValidateScope(scope)
}

// ParseReference parses PATH[:SELECTOR] with the default transport
// (TransportName).
func ParseReference(s string) (types.ImageReference, error) {
	return Parse(NewTransport(TransportName), s)
}

// Parse parses PATH[:SELECTOR] into a reference carrying transport t. PATH
// ends at the first ':' and must not be empty; SELECTOR follows
// layout.ParseSelector. Errors name the whole input.
func Parse(t Transport, s string) (types.ImageReference, error) {
	dir, selStr, _ := strings.Cut(s, ":")
	if dir == "" {
		return nil, fmt.Errorf("invalid %s reference %q: empty PATH", t.name, s)
	}
	sel, err := layout.ParseSelector(selStr)
	if err != nil {
		return nil, fmt.Errorf("invalid %s reference %q: %w", t.name, s, err)
	}
	return newReference(t, dir, sel)
}
