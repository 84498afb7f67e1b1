package main

import (
	"errors"
	"fmt"

	"github.com/ocilayout/ocilayout/layout"
	"github.com/ocilayout/ocilayout/reference"
	"github.com/spf13/pflag"
	"go.podman.io/image/v5/transports/alltransports"
	"go.podman.io/image/v5/types"
)

// addLockFlag adds the global --lock-timeout. Every command that waits for
// a layout's lock (another process's index update, a running gc, the
// in-flight writers gc and delete wait for) honours SIGINT and SIGTERM
// while it waits, says on stderr after a second what it waits for, and,
// with --lock-timeout, gives up after that long with an error naming it.
func (g *globalOptions) addLockFlag(fs *pflag.FlagSet) {
	fs.DurationVar(&g.lockTimeout, "lock-timeout", 0,
		"give up waiting for a layout lock after `DURATION` (e.g. 30s; 0: wait until interrupted)")
}

// layoutOptions are the layout.Options every layout the command opens
// gets: the lock timeout, and the wait notice on stderr.
func (g *globalOptions) layoutOptions() []layout.Option {
	stderr := g.stderr
	return []layout.Option{layout.WithLockTimeout(g.lockTimeout, func(msg string) {
		if stderr != nil {
			fmt.Fprintf(stderr, "ocilayout: %s\n", msg)
		}
	})}
}

// parseImageName is alltransports.ParseImageName with the command's
// layout options carried by an oci-layout reference (see
// reference.WithLayoutOptions); other references are unchanged.
func (g *globalOptions) parseImageName(name string) (types.ImageReference, error) {
	ref, err := alltransports.ParseImageName(name)
	if err != nil {
		return nil, err
	}
	return reference.With(ref, reference.WithLayoutOptions(g.layoutOptions()...)), nil
}

// openLayout opens an existing layout for the maintenance commands, which
// take a PATH rather than an image reference.
func (g *globalOptions) openLayout(dir, sharedBlobDir string) (*layout.Layout, error) {
	lopts := g.layoutOptions()
	if sharedBlobDir != "" {
		lopts = append(lopts, layout.WithSharedBlobDir(sharedBlobDir))
	}
	l, err := layout.Open(dir, lopts...)
	if err != nil {
		return nil, fmt.Errorf("opening layout %s: %w", dir, err)
	}
	return l, nil
}

// openLayoutImage opens the layout of an oci-layout: image name (under
// any registered name, oci: too after transport.ReplaceOCI) for a command
// that acts on the image in place; why says why another image is refused.
func (g *globalOptions) openLayoutImage(name, why string) (*layout.Layout, layout.Selector, error) {
	ref, err := g.parseImageName(name)
	if err != nil {
		return nil, layout.Selector{}, usagef("invalid image name %q: %w", name, err)
	}
	l, sel, err := reference.OpenLayout(ref, nil, why)
	if errors.Is(err, reference.ErrNotLayout) {
		return nil, layout.Selector{}, usageError{err}
	}
	if err != nil {
		return nil, layout.Selector{}, fmt.Errorf("opening %s: %w", name, err)
	}
	return l, sel, nil
}
