package main

import (
	"context"
	"fmt"
	"io"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/types"

	"github.com/ocilayout/ocilayout/layout"
	"github.com/ocilayout/ocilayout/reference"
	"github.com/ocilayout/ocilayout/referrers"
)

type referrersOptions struct {
	global       *globalOptions
	image        imageOptions // --creds, --tls-verify, ... for a registry; --shared-blob-dir for a layout
	artifactType string
	json         bool
	tree         bool
}

func newReferrersCommand(global *globalOptions) *cobra.Command {
	opts := &referrersOptions{global: global}
	cmd := &cobra.Command{
		Use:   "referrers [flags] IMAGE",
		Short: "List the referrers (signatures, SBOMs, attestations) of an image in a layout or a registry",
		Long: `List the referrers of IMAGE, like 'oras discover'. Of an oci-layout: image:
those ocilayout records, those the subject's sha256-HEX fallback tag lists
(regclient, oras), untagged entries oras-go and notation write, and cosign's
sha256-HEX.sig/.att/.sbom tags. Of a docker:// image: what the registry's
referrers API lists, or its fallback tag without that API, and cosign's tags,
reached with --creds, --authfile, --cert-dir, --tls-verify and registries.conf
as copy reaches it. --tree lists the referrers of referrers too (a signature
of an SBOM); --artifact-type filters the first level.`,
		Example: `  ocilayout referrers oci-layout:./images:app
  ocilayout referrers --tree --artifact-type application/spdx+json oci-layout:./images:app
  ocilayout referrers --json --tree oci-layout:./images:@sha256:0123...
  ocilayout referrers --tree --creds user:secret docker://registry.example.com/org/app:v1`,
		Args: exactArgs(1, "IMAGE"),
		RunE: func(cmd *cobra.Command, args []string) error { return opts.run(cmd, args) },
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.artifactType, "artifact-type", "", "list only referrers of artifact `TYPE`")
	fs.BoolVar(&opts.json, "json", false, "print the subject and its referrers as JSON")
	fs.BoolVar(&opts.tree, "tree", false, "list the referrers of referrers too, as a tree")
	opts.image.addFlags(fs)
	return cmd
}

func (opts *referrersOptions) run(cmd *cobra.Command, args []string) error {
	ctx := cmd.Context()
	sys, err := opts.image.systemContext(cmd.Flags(), nil)
	if err != nil {
		return err
	}
	subject, rs, err := opts.list(ctx, args[0], sys)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if opts.json {
		if rs == nil {
			rs = []referrers.Referrer{}
		}
		return writeJSON(out, struct {
			Subject   imgspecv1.Descriptor `json:"subject"`
			Referrers []referrers.Referrer `json:"referrers"`
		}{subject, rs})
	}
	if opts.tree {
		fmt.Fprintf(out, "%s@%s\n", args[0], subject.Digest)
		printTree(out, rs, "")
		return nil
	}
	for _, r := range rs {
		fmt.Fprintln(out, referrerLine(r))
	}
	return nil
}

// list lists the referrers of the image name: in its layout, or in its
// registry for a docker:// name.
func (opts *referrersOptions) list(ctx context.Context, name string, sys *types.SystemContext) (imgspecv1.Descriptor, []referrers.Referrer, error) {
	ref, err := opts.global.parseImageName(name)
	if err != nil {
		return imgspecv1.Descriptor{}, nil, usagef("invalid image %q: %w", name, err)
	}
	if ref.Transport().Name() == docker.Transport.Name() {
		subject, rs, err := referrers.ListRegistry(ctx, ref.DockerReference(), sys, opts.artifactType, opts.tree)
		if err != nil {
			return imgspecv1.Descriptor{}, nil, fmt.Errorf("listing the referrers of %s: %w", name, err)
		}
		return subject, rs, nil
	}
	l, subject, err := openSubject(ctx, ref, name, sys, "referrers are listed of oci-layout: and docker:// images")
	if err != nil {
		return imgspecv1.Descriptor{}, nil, err
	}
	defer l.Close()
	// Under a read lease, as a source reads: gc then keeps the fallback
	// tags and manifests the listing reads, even if a writer drops them.
	lease, err := l.AcquireReadLease(ctx)
	if err != nil {
		return imgspecv1.Descriptor{}, nil, err
	}
	defer lease.Release()
	rs, err := referrers.List(ctx, l, subject.Digest, opts.artifactType, opts.tree)
	if err != nil {
		return imgspecv1.Descriptor{}, nil, fmt.Errorf("listing the referrers of %s: %w", name, err)
	}
	return subject, rs, nil
}

func referrerLine(r referrers.Referrer) string {
	s := fmt.Sprintf("%s %s %s", r.Digest, orNone(r.ArtifactType), r.Source)
	if r.Tag != "" {
		s += " " + r.Tag
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func printTree(w io.Writer, rs []referrers.Referrer, indent string) {
	for i, r := range rs {
		branch, next := "├── ", "│   "
		if i == len(rs)-1 {
			branch, next = "└── ", "    "
		}
		fmt.Fprintf(w, "%s%s%s\n", indent, branch, referrerLine(r))
		printTree(w, r.Referrers, indent+next)
	}
}

// openSubject opens the layout of ref, the oci-layout: image name (parsed
// with the global options: --lock-timeout), and resolves the manifest it
// selects. The layout is opened for reading; Update writes it all the same
// (attach).
func openSubject(ctx context.Context, ref types.ImageReference, name string, sys *types.SystemContext, why string) (*layout.Layout, imgspecv1.Descriptor, error) {
	l, sel, err := reference.OpenLayout(ref, sys, why)
	if err != nil {
		return nil, imgspecv1.Descriptor{}, err
	}
	d, err := l.Lookup(ctx, sel)
	if err == nil {
		return l, imgspecv1.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}, nil
	}
	_ = l.Close()
	return nil, imgspecv1.Descriptor{}, fmt.Errorf("finding %s: %w", name, err)
}
