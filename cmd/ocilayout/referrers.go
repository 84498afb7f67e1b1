package main

import (
	"context"
	"fmt"
	"io"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"
	"go.podman.io/image/v5/transports/alltransports"
	"go.podman.io/image/v5/types"

	"github.com/ocilayout/ocilayout/layout"
	"github.com/ocilayout/ocilayout/reference"
	"github.com/ocilayout/ocilayout/referrers"
)

type referrersOptions struct {
	artifactType  string
	json          bool
	tree          bool
	sharedBlobDir string
}

func newReferrersCommand(*globalOptions) *cobra.Command {
	opts := &referrersOptions{}
	cmd := &cobra.Command{
		Use:   "referrers [flags] IMAGE",
		Short: "List the referrers (signatures, SBOMs, attestations) of an image in a layout",
		Long: `List the referrers of IMAGE, an oci-layout: image, like 'oras discover':
those ocilayout records, those the subject's sha256-HEX fallback tag lists
(regclient, oras), untagged entries oras-go and notation write, and cosign's
sha256-HEX.sig/.att/.sbom tags. --tree lists the referrers of referrers too
(a signature of an SBOM); --artifact-type filters the first level.`,
		Example: `  ocilayout referrers oci-layout:./images:app
  ocilayout referrers --tree --artifact-type application/spdx+json oci-layout:./images:app
  ocilayout referrers --json --tree oci-layout:./images:@sha256:0123...`,
		Args: exactArgs(1, "IMAGE"),
		RunE: func(cmd *cobra.Command, args []string) error { return opts.run(cmd, args) },
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.artifactType, "artifact-type", "", "list only referrers of artifact `TYPE`")
	fs.BoolVar(&opts.json, "json", false, "print the subject and its referrers as JSON")
	fs.BoolVar(&opts.tree, "tree", false, "list the referrers of referrers too, as a tree")
	fs.StringVar(&opts.sharedBlobDir, "shared-blob-dir", "", "`DIRECTORY` the layout keeps its blobs in")
	return cmd
}

func (opts *referrersOptions) run(cmd *cobra.Command, args []string) error {
	ctx := cmd.Context()
	l, subject, err := openSubject(ctx, args[0], &types.SystemContext{OCISharedBlobDirPath: opts.sharedBlobDir}, "listing referrers")
	if err != nil {
		return err
	}
	defer l.Close()
	rs, err := referrers.List(ctx, l, subject.Digest, opts.artifactType, opts.tree)
	if err != nil {
		return fmt.Errorf("listing the referrers of %s: %w", args[0], err)
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

// openSubject opens the layout of an oci-layout: image and resolves the
// manifest it selects. The layout is opened for reading; Update writes it
// all the same (attach).
func openSubject(ctx context.Context, name string, sys *types.SystemContext, why string) (*layout.Layout, imgspecv1.Descriptor, error) {
	ref, err := alltransports.ParseImageName(name)
	if err != nil {
		return nil, imgspecv1.Descriptor{}, usagef("invalid image %q: %w", name, err)
	}
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
