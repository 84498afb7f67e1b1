package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"go.podman.io/image/v5/types"

	"github.com/ocilayout/ocilayout/reference"
)

type deleteOptions struct {
	global        *globalOptions
	json          bool
	sharedBlobDir string
}

func newDeleteCommand(global *globalOptions) *cobra.Command {
	opts := &deleteOptions{global: global}
	cmd := &cobra.Command{
		Use:   "delete [flags] IMAGE",
		Short: "Delete an image and reclaim the blobs only it used",
		Long: `Delete IMAGE. For oci-layout: references the entry is removed from
index.json first, under the layout's lock, together with the referrers
(signatures) whose subject it was; then the blobs that no remaining entry
reaches are removed, waiting for in-flight writers. A crash in between
leaves only unreferenced blobs, which 'ocilayout gc' removes. With
--shared-blob-dir no blob is removed, since other layouts may use them.
Other transports delete as their own DeleteImage does.`,
		Example: `  ocilayout delete oci-layout:./images:app:v1
  ocilayout delete oci-layout:./images:@sha256:0123...
  ocilayout delete --json oci-layout:./images:@2`,
		Args: exactArgs(1, "IMAGE"),
		RunE: func(cmd *cobra.Command, args []string) error { return opts.run(cmd, args) },
	}
	cmd.Flags().BoolVar(&opts.json, "json", false, "print what was removed as JSON")
	cmd.Flags().StringVar(&opts.sharedBlobDir, "shared-blob-dir", "", "`DIRECTORY` the layout keeps its blobs in (no blob is removed from it)")
	return cmd
}

func (opts *deleteOptions) run(cmd *cobra.Command, args []string) error {
	ctx := cmd.Context()
	ref, err := opts.global.parseImageName(args[0])
	if err != nil {
		return usagef("invalid image %q: %w", args[0], err)
	}
	sys := &types.SystemContext{OCISharedBlobDirPath: opts.sharedBlobDir}
	res, err := reference.Delete(ctx, sys, ref)
	if err != nil {
		return fmt.Errorf("deleting %s: %w", args[0], err)
	}
	if res == nil {
		return nil // another transport's DeleteImage: it reports nothing
	}
	out := cmd.OutOrStdout()
	if opts.json {
		return writeJSON(out, res)
	}
	for _, e := range res.Entries {
		name := e.Annotations["org.opencontainers.image.ref.name"]
		if name == "" {
			name = "<none>"
		}
		fmt.Fprintf(out, "Removed entry %s %s\n", name, e.Digest)
	}
	if res.Reclaimed == nil {
		fmt.Fprintln(out, "Kept all blobs: the blob directory is shared")
		return nil
	}
	fmt.Fprintf(out, "Reclaimed %d blobs, %s\n", len(res.Reclaimed.Blobs), formatBytes(res.Reclaimed.Bytes))
	return nil
}
