package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"
	"go.podman.io/image/v5/types"

	"github.com/ocilayout/ocilayout/layout"
)

// defaultFileMediaType is what 'oras attach' gives a file named without one.
const defaultFileMediaType = "application/vnd.oci.image.layer.v1.tar"

type attachOptions struct {
	global        *globalOptions
	artifactType  string
	annotations   []string
	sharedBlobDir string
}

func newAttachCommand(global *globalOptions) *cobra.Command {
	opts := &attachOptions{global: global}
	cmd := &cobra.Command{
		Use:   "attach --artifact-type TYPE [flags] IMAGE FILE[:MEDIATYPE]...",
		Short: "Attach files to an image in a layout as a referrer (SBOM, attestation, ...)",
		Long: `Attach FILEs to IMAGE, an oci-layout: image, like 'oras attach': an OCI
image manifest of artifact TYPE whose subject is IMAGE and whose layers are
the files (streamed into the layout, named by org.opencontainers.image.title),
with the empty config. index.json is updated once, under the layout's lock,
with the referrer and the subject's sha256-HEX fallback tag, so oras,
regclient, notation and zot see it. It prints the referrer's digest.`,
		Example: `  ocilayout attach --artifact-type application/spdx+json oci-layout:./images:app sbom.spdx.json:application/spdx+json
  ocilayout attach --artifact-type application/vnd.example.sig --annotation org.example.signer=ci oci-layout:./images:app sig.bin`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return usagef("attach: expected IMAGE and at least one FILE, got %d argument(s) (see '%s --help')", len(args), cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return opts.run(cmd, args) },
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.artifactType, "artifact-type", "", "the referrer's artifact `TYPE` (required)")
	fs.StringArrayVar(&opts.annotations, "annotation", nil, "add `KEY=VALUE` to the referrer's manifest annotations (repeatable)")
	fs.StringVar(&opts.sharedBlobDir, "shared-blob-dir", "", "`DIRECTORY` the layout keeps its blobs in")
	return cmd
}

func (opts *attachOptions) run(cmd *cobra.Command, args []string) error {
	ctx := cmd.Context()
	if opts.artifactType == "" {
		return usagef("attach: --artifact-type is required")
	}
	var annotations map[string]string
	for _, a := range opts.annotations {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return usagef("invalid --annotation %q: must be KEY=VALUE", a)
		}
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[k] = v
	}
	ref, err := opts.global.parseImageName(args[0])
	if err != nil {
		return usagef("invalid image %q: %w", args[0], err)
	}
	l, subject, err := openSubject(ctx, ref, args[0], &types.SystemContext{OCISharedBlobDirPath: opts.sharedBlobDir}, "attaching files")
	if err != nil {
		return err
	}
	defer l.Close()
	// The files' blobs are unreferenced until Attach records the
	// referrer: the lease keeps gc off them meanwhile.
	lease, err := l.AcquireWriteLease(ctx)
	if err != nil {
		return err
	}
	defer lease.Release()
	a := layout.Artifact{ArtifactType: opts.artifactType, Annotations: annotations}
	for _, spec := range args[1:] {
		path, mediaType := splitFileSpec(spec)
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("attaching %s: %w", path, err)
		}
		d, size, err := l.PutBlob(ctx, f, "", -1)
		_ = f.Close()
		if err != nil {
			return fmt.Errorf("storing %s in the layout: %w", path, err)
		}
		a.Layers = append(a.Layers, imgspecv1.Descriptor{MediaType: mediaType, Digest: d, Size: size,
			Annotations: map[string]string{imgspecv1.AnnotationTitle: filepath.Base(path)}})
	}
	refs, err := l.Attach(ctx, subject, a)
	if err != nil {
		return fmt.Errorf("attaching to %s: %w", args[0], err)
	}
	fmt.Fprintln(cmd.OutOrStdout(), refs[0].Digest)
	return nil
}

// splitFileSpec splits FILE[:MEDIATYPE] as oras does: at the last colon
// when what follows looks like a media type (TYPE/SUBTYPE), so that a file
// name with a colon still works.
func splitFileSpec(spec string) (path, mediaType string) {
	if i := strings.LastIndex(spec, ":"); i > 0 && strings.Contains(spec[i+1:], "/") {
		return spec[:i], spec[i+1:]
	}
	return spec, defaultFileMediaType
}
