package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/ocilayout/ocilayout/reference"
	"github.com/ocilayout/ocilayout/shortname"
	"github.com/spf13/pflag"
	"go.podman.io/image/v5/types"
)

// shortNameOptions hold the flag that says where short names are resolved,
// named as buildah and podman name it.
type shortNameOptions struct {
	registriesConf string
}

func (o *shortNameOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.registriesConf, "registries-conf", "", "resolve a SOURCE-IMAGE without transport with registries.conf `FILE` (default: the system's)")
}

// resolveSource resolves a SOURCE-IMAGE written without a transport
// ("debian:12", for which shortname.Applies holds) as podman resolves a
// short name, and reports the result on report. An oci-layout:PATH
// destination without NAME is returned with the resolved name as NAME, so
// the layout entry records what was pulled; other destinations are
// returned as they are. After the copy, the caller calls Record on the
// resolution.
func (o *shortNameOptions) resolveSource(ctx context.Context, sys *types.SystemContext, input string, dest types.ImageReference, report io.Writer) (types.ImageReference, types.ImageReference, *shortname.Resolution, error) {
	if o.registriesConf != "" {
		sys.SystemRegistriesConfPath = o.registriesConf
	}
	res, err := shortname.Resolve(ctx, sys, input)
	if err != nil {
		return nil, nil, nil, err
	}
	if res.Description != "" {
		fmt.Fprintln(report, res.Description)
	}
	fmt.Fprintf(report, "Resolved %s to %s\n", input, res.Name)
	// PATH cannot contain ':', so a reference without one has no NAME.
	if within := dest.StringWithinTransport(); dest.Transport().Name() == reference.TransportName && !strings.Contains(within, ":") {
		if dest, err = dest.Transport().ParseReference(within + ":" + res.Name.String()); err != nil {
			return nil, nil, nil, fmt.Errorf("naming the destination %s after %s: %w", within, res.Name, err)
		}
	}
	return res.Ref, dest, res, nil
}
