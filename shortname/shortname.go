// Package shortname resolves image names written without a transport
// ("debian:12", "library/nginx", "quay.io/ns/app") the way podman does:
// through containers/image's own pkg/shortnames, that is the aliases,
// unqualified-search-registries and short-name-mode of registries.conf.
// The candidates are tried in order and the first that a registry serves
// wins, so that "ocilayout copy debian:12 oci-layout:./images" and a
// future sync pull exactly what "podman pull debian:12" would.
package shortname

import (
	"context"
	"fmt"
	"os"
	"strings"

	"go.podman.io/image/v5/docker"
	dockerref "go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/pkg/shortnames"
	"go.podman.io/image/v5/pkg/sysregistriesv2"
	"go.podman.io/image/v5/transports"
	"go.podman.io/image/v5/types"
	"golang.org/x/term"
)

// Applies reports whether input is a name for this package rather than a
// TRANSPORT:DETAILS reference: it has no ':' at all, or what precedes its
// first ':' is no registered transport ("debian:12", "localhost:5000/app").
// A string naming a known transport is never resolved, so a mistyped
// "oci-layout:..." keeps its own parse error.
func Applies(input string) bool {
	prefix, _, found := strings.Cut(input, ":")
	return !found || transports.Get(prefix) == nil
}

// Resolution is the outcome of Resolve: the candidate a registry serves.
type Resolution struct {
	// Name is the fully qualified name chosen, with a tag or digest
	// (":latest" appended when the input had neither).
	Name dockerref.Named
	// Ref is Name as a docker:// reference, ready for copy.Image.
	Ref types.ImageReference
	// Description says how the name was resolved (alias or search
	// registries, and from which file), as podman prints it; it may be "".
	Description string
	// Tried lists the candidates that were tried before Name, each with
	// why it was passed over.
	Tried []error

	candidate shortnames.PullCandidate
}

// AmbiguousError is returned in enforcing short-name-mode when a name has
// several candidates and there is no terminal to ask which one is meant.
type AmbiguousError struct {
	Name       string
	Candidates []string
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("short name %q is ambiguous (short-name-mode is enforcing and there is no terminal to choose): candidates %s; "+
		"write a fully qualified name or add an alias to registries.conf", e.Name, strings.Join(e.Candidates, ", "))
}

// Resolve resolves name with sys's registries.conf
// (sys.SystemRegistriesConfPath and friends) and returns the first
// candidate whose manifest the registry serves, in the order
// pkg/shortnames gives them: an alias if there is one, otherwise each
// unqualified-search registry in turn. A fully qualified name is its own
// single candidate. When no candidate exists, the error lists every
// candidate with its failure.
//
// In enforcing mode with more than one candidate, a terminal on stdin and
// stdout gets pkg/shortnames' prompt (as podman); without one, Resolve
// fails with an *AmbiguousError listing the candidates, where
// pkg/shortnames would only say that it cannot prompt.
//
// After the image has been copied, call Record: it writes the alias a
// prompt choice creates (to sys.UserShortNameAliasConfPath or the user's
// short-name-aliases.conf), as podman does; otherwise it does nothing.
func Resolve(ctx context.Context, sys *types.SystemContext, name string) (*Resolution, error) {
	resolved, err := resolveCandidates(sys, name)
	if err != nil {
		return nil, fmt.Errorf("resolving short name %q: %w", name, err)
	}
	res := &Resolution{Description: resolved.Description()}
	for _, c := range resolved.PullCandidates {
		ref, err := docker.NewReference(c.Value)
		if err == nil {
			err = exists(ctx, sys, ref)
		}
		if err != nil {
			res.Tried = append(res.Tried, fmt.Errorf("%s: %w", c.Value, err))
			continue
		}
		res.Name, res.Ref, res.candidate = c.Value, ref, c
		return res, nil
	}
	return nil, fmt.Errorf("resolving short name %q: %w", name, resolved.FormatPullErrors(res.Tried))
}

// resolveCandidates is shortnames.Resolve, except that an enforcing mode
// without a terminal yields an *AmbiguousError naming the candidates: they
// are computed in permissive mode (which returns all of them) and refused
// when there is more than one.
func resolveCandidates(sys *types.SystemContext, name string) (*shortnames.Resolved, error) {
	mode, err := sysregistriesv2.GetShortNameMode(sys)
	if err != nil {
		return nil, err
	}
	if mode != types.ShortNameModeEnforcing || interactive() {
		return shortnames.Resolve(sys, name)
	}
	permissive := types.ShortNameModePermissive
	psys := types.SystemContext{}
	if sys != nil {
		psys = *sys
	}
	psys.ShortNameMode = &permissive
	resolved, err := shortnames.Resolve(&psys, name)
	if err != nil {
		return nil, err
	}
	if len(resolved.PullCandidates) > 1 {
		amb := &AmbiguousError{Name: name}
		for _, c := range resolved.PullCandidates {
			amb.Candidates = append(amb.Candidates, c.Value.String())
		}
		return nil, amb
	}
	return resolved, nil
}

// interactive mirrors the check pkg/shortnames makes before prompting.
func interactive() bool {
	return term.IsTerminal(int(os.Stdin.Fd())) && term.IsTerminal(int(os.Stdout.Fd()))
}

// exists fetches ref's manifest: the cheapest request that tells an image
// the registry has from one it has not, before a copy writes anything.
func exists(ctx context.Context, sys *types.SystemContext, ref types.ImageReference) error {
	src, err := ref.NewImageSource(ctx, sys)
	if err != nil {
		return err
	}
	defer src.Close()
	_, _, err = src.GetManifest(ctx, nil)
	return err
}

// Record stores the alias that a prompt choice made during Resolve, as
// pkg/shortnames requires once the image has been pulled; for names
// resolved otherwise (alias, search registries, qualified) it does nothing.
func (r *Resolution) Record() error {
	return r.candidate.Record()
}
