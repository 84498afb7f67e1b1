// Package transport registers the oci-layout transport with containers/image,
// so that "oci-layout:PATH[:SELECTOR]" image names work with
// alltransports.ParseImageName and transports.oci-layout scopes work in
// policy.json. Import it for its side effect:
//
//	import _ "github.com/ocilayout/ocilayout/transport"
//
// ReplaceOCI additionally makes "oci:" names use this implementation.
package transport

import (
	"sync"

	"github.com/ocilayout/ocilayout/reference"
	"go.podman.io/image/v5/transports"
	"go.podman.io/image/v5/types"
)

func init() {
	transports.Register(reference.NewTransport(reference.TransportName))
}

// Transport returns the oci-layout transport, for callers that want to parse
// references or validate scopes without going through the registry.
func Transport() types.ImageTransport {
	return reference.NewTransport(reference.TransportName)
}

// replaceMu serializes ReplaceOCI: transports.Delete followed by
// transports.Register is not atomic, and Register panics on a duplicate
// name, so two concurrent calls could otherwise panic.
var replaceMu sync.Mutex

// ReplaceOCI makes the "oci" transport name use this implementation instead
// of containers/image's built-in one, so that "oci:PATH:NAME" image names and
// transports.oci scopes in policy.json get this package's grammar (including
// @DIGEST selectors) and behaviour.
//
// Call it early, before parsing policy.json (containers/image validates each
// scope with the transport registered under that name at parse time, and
// keeps the parsed policy) and before alltransports.ParseImageName; references
// parsed earlier keep using the built-in transport. It is safe to call more
// than once, and from several goroutines.
func ReplaceOCI() {
	replaceMu.Lock()
	defer replaceMu.Unlock()
	ours := reference.NewTransport("oci")
	if current := transports.Get("oci"); current == types.ImageTransport(ours) {
		return
	}
	transports.Delete("oci")
	transports.Register(ours)
}
