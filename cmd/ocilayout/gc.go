package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/ocilayout/ocilayout/layout"
)

type gcOptions struct {
	global        *globalOptions
	json          bool
	dryRun        bool
	sharedBlobDir string
}

func newGCCommand(global *globalOptions) *cobra.Command {
	opts := &gcOptions{global: global}
	cmd := &cobra.Command{
		Use:   "gc [flags] PATH",
		Short: "Remove unreachable blobs and stale temp files from an OCI layout",
		Long: `Remove the blobs of PATH that no index.json entry reaches, stale temp
files (.ocilayout-tmp-*) of writes that crashed, and referrer entries whose
subject is gone. gc waits until no ocilayout writer is between its first
blob and its commit, and keeps new writers waiting until it is done, so it
is safe to run while other processes copy into the layout. With
--shared-blob-dir no blob is removed: other layouts may use them.`,
		Example: `  ocilayout gc ./images
  ocilayout gc --dry-run --json ./images`,
		Args: exactArgs(1, "PATH"),
		RunE: func(cmd *cobra.Command, args []string) error { return opts.run(cmd, args) },
	}
	cmd.Flags().BoolVar(&opts.dryRun, "dry-run", false, "report what would be removed, remove nothing")
	cmd.Flags().BoolVar(&opts.json, "json", false, "print the result as JSON")
	cmd.Flags().StringVar(&opts.sharedBlobDir, "shared-blob-dir", "", "`DIRECTORY` the layout keeps its blobs in (no blob is removed from it)")
	return cmd
}

func (opts *gcOptions) run(cmd *cobra.Command, args []string) (retErr error) {
	l, err := opts.global.openLayout(args[0], opts.sharedBlobDir)
	if err != nil {
		return err
	}
	defer func() {
		if err := l.Close(); err != nil && retErr == nil {
			retErr = fmt.Errorf("closing layout %s: %w", args[0], err)
		}
	}()
	var gcOpts []layout.GCOption
	if opts.dryRun {
		gcOpts = append(gcOpts, layout.DryRun())
	}
	res, err := l.GC(cmd.Context(), gcOpts...)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if opts.json {
		return writeJSON(out, res)
	}
	verb := "Removed"
	if opts.dryRun {
		verb = "Would remove"
	}
	fmt.Fprintf(out, "%s %d blobs and %d temp files, %s; %d referrer entries without subject\n",
		verb, len(res.Blobs), len(res.TempFiles), formatBytes(res.Bytes), len(res.Entries))
	if res.SharedBlobDir {
		fmt.Fprintln(out, "Blobs were not collected: the blob directory is shared")
	}
	for _, p := range res.Skipped {
		fmt.Fprintf(out, "Not followed (nothing below it is known; everything else is kept): %s\n", p)
	}
	return nil
}

// writeJSON prints v as indented JSON, the --json output of the
// maintenance commands.
func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// formatBytes prints an exact byte count with a human-readable MiB figure.
func formatBytes(n int64) string {
	return fmt.Sprintf("%d bytes (%.1f MiB)", n, float64(n)/(1<<20))
}
