package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/template"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/spf13/cobra"
	"go.podman.io/image/v5/image"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/types"
)

// inspectOutput is skopeo inspect's JSON document, field for field, so that
// scripts written against skopeo read ours unchanged.
type inspectOutput struct {
	Name          string `json:",omitempty"`
	Tag           string `json:",omitempty"`
	Digest        digest.Digest
	RepoTags      []string
	Created       *time.Time
	DockerVersion string
	Labels        map[string]string
	Architecture  string
	Variant       string `json:",omitempty"`
	Os            string
	Layers        []string
	LayersData    []types.ImageInspectLayer
	Env           []string
	// Signatures is ours, not skopeo's: the key ids and claimed identities
	// of the image's simple-signing signatures, UNVERIFIED (verification
	// is copy --policy's job). Omitted when the image has none.
	Signatures []signatureSummary `json:",omitempty"`
}

type inspectOptions struct {
	global   *globalOptions
	image    imageOptions
	platform platformOptions
	raw      bool
	config   bool
	format   string
}

func newInspectCommand(global *globalOptions) *cobra.Command {
	opts := &inspectOptions{global: global}
	cmd := &cobra.Command{
		Use:   "inspect [flags] IMAGE",
		Short: "Show an image's metadata, manifest or configuration",
		Long: `Print what skopeo inspect prints for IMAGE: a JSON document with its
digest, creation time, platform, labels, environment and layers.
--raw prints the manifest exactly as stored (a list stays a list);
--config prints the OCI configuration; --raw --config the configuration blob
exactly as stored.`,
		Example: `  ocilayout inspect oci-layout:./images:app:v1
  ocilayout inspect --raw oci-layout:./images:@0 | sha256sum
  ocilayout inspect --config --raw oci-layout:./images:@sha256:0123...
  ocilayout inspect --format '{{.Digest}}' dir:./app`,
		Args: exactArgs(1, "IMAGE"),
		RunE: func(cmd *cobra.Command, args []string) error { return opts.run(cmd, args) },
	}
	fs := cmd.Flags()
	opts.image.addFlags(fs)
	opts.platform.addFlags(fs)
	fs.BoolVar(&opts.raw, "raw", false, "print the raw manifest (or, with --config, the raw configuration blob)")
	fs.BoolVar(&opts.config, "config", false, "print the image configuration")
	fs.StringVarP(&opts.format, "format", "f", "", "format the output with a Go `TEMPLATE` instead of JSON")
	return cmd
}

func (opts *inspectOptions) run(cmd *cobra.Command, args []string) (retErr error) {
	ctx := cmd.Context()
	stdout := cmd.OutOrStdout()
	if opts.raw && opts.format != "" {
		return usagef("--raw and --format cannot be used together")
	}
	var tmpl *template.Template
	if opts.format != "" {
		var err error
		if tmpl, err = template.New("format").Parse(opts.format); err != nil {
			return usagef("invalid --format template: %w", err)
		}
	}
	sys, err := opts.image.systemContext(cmd.Flags(), &opts.platform)
	if err != nil {
		return err
	}
	ref, err := opts.global.parseImageName(args[0])
	if err != nil {
		return fmt.Errorf("invalid image name %q: %w", args[0], err)
	}
	src, err := ref.NewImageSource(ctx, sys)
	if err != nil {
		return fmt.Errorf("opening %s: %w", args[0], err)
	}
	defer func() {
		if err := src.Close(); err != nil && retErr == nil {
			retErr = fmt.Errorf("closing %s: %w", args[0], err)
		}
	}()

	rawManifest, _, err := src.GetManifest(ctx, nil)
	if err != nil {
		return fmt.Errorf("reading manifest of %s: %w", args[0], err)
	}
	if opts.raw && !opts.config {
		// Byte-exact: the digest of this output is the manifest digest.
		if _, err := stdout.Write(rawManifest); err != nil {
			return fmt.Errorf("writing manifest: %w", err)
		}
		return nil
	}

	img, err := image.FromUnparsedImage(ctx, sys, image.UnparsedInstance(src, nil))
	if err != nil {
		return fmt.Errorf("parsing manifest of %s: %w", args[0], err)
	}
	if opts.config {
		if opts.raw {
			blob, err := img.ConfigBlob(ctx)
			if err != nil {
				return fmt.Errorf("reading configuration of %s: %w", args[0], err)
			}
			if _, err := stdout.Write(blob); err != nil {
				return fmt.Errorf("writing configuration: %w", err)
			}
			return nil
		}
		config, err := img.OCIConfig(ctx)
		if err != nil {
			return fmt.Errorf("reading configuration of %s: %w", args[0], err)
		}
		return writeOutput(stdout, tmpl, config)
	}

	info, err := img.Inspect(ctx)
	if err != nil {
		return fmt.Errorf("inspecting %s: %w", args[0], err)
	}
	out := inspectOutput{
		Tag:           info.Tag,
		RepoTags:      []string{},
		Created:       info.Created,
		DockerVersion: info.DockerVersion,
		Labels:        info.Labels,
		Architecture:  info.Architecture,
		Variant:       info.Variant,
		Os:            info.Os,
		Layers:        info.Layers,
		LayersData:    info.LayersData,
		Env:           info.Env,
	}
	// Like skopeo, Digest is that of the manifest as stored: for a list,
	// the list's digest, although the other fields describe one instance.
	if out.Digest, err = manifest.Digest(rawManifest); err != nil {
		return fmt.Errorf("computing manifest digest: %w", err)
	}
	if named := ref.DockerReference(); named != nil {
		out.Name = named.Name()
	}
	if out.Signatures, err = summarizeSignatures(ctx, src); err != nil {
		return fmt.Errorf("reading signatures of %s: %w", args[0], err)
	}
	return writeOutput(stdout, tmpl, out)
}

// writeOutput prints data as indented JSON (skopeo's layout), or through
// tmpl when --format was given.
func writeOutput(w io.Writer, tmpl *template.Template, data any) error {
	if tmpl != nil {
		if err := tmpl.Execute(w, data); err != nil {
			return fmt.Errorf("executing --format template: %w", err)
		}
		_, err := fmt.Fprintln(w)
		return err
	}
	b, err := json.MarshalIndent(data, "", "    ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
