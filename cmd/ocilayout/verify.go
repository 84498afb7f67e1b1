package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

type verifyOptions struct {
	global        *globalOptions
	json          bool
	sharedBlobDir string
}

func newVerifyCommand(global *globalOptions) *cobra.Command {
	opts := &verifyOptions{global: global}
	cmd := &cobra.Command{
		Use:   "verify [flags] PATH",
		Short: "Check that an OCI layout is complete and uncorrupted",
		Long: `Check PATH: oci-layout and index.json, every manifest, index, config,
layer and artifact reachable from index.json (present, inside the layout,
of the size its descriptors say, hashing to its digest; hashed on all
cores), and that nothing else is there: unreachable blobs, stale temp
files and files that do not belong are problems too ('ocilayout gc'
removes the first two). Prints one line per problem, DIGEST-or-PATH: KIND:
DETAIL, and exits 1 if there is any; exits 0 only when the layout is sound.
verify takes no lock and needs no write access: run it when no writer is
active, or blobs of in-flight copies show up as unreachable.`,
		Example: `  ocilayout verify ./images
  ocilayout verify --json ./images | jq -r '.problems[] | .kind'`,
		Args: exactArgs(1, "PATH"),
		RunE: func(cmd *cobra.Command, args []string) error { return opts.run(cmd, args) },
	}
	cmd.Flags().BoolVar(&opts.json, "json", false, "print the report as JSON: {entries, blobs, bytes, problems: [{kind, digest, path, detail}]}")
	cmd.Flags().StringVar(&opts.sharedBlobDir, "shared-blob-dir", "", "`DIRECTORY` the layout keeps its blobs in (its other blobs are not reported)")
	return cmd
}

func (opts *verifyOptions) run(cmd *cobra.Command, args []string) (retErr error) {
	l, err := opts.global.openLayout(args[0], opts.sharedBlobDir)
	if err != nil {
		return err
	}
	defer func() {
		if err := l.Close(); err != nil && retErr == nil {
			retErr = fmt.Errorf("closing layout %s: %w", args[0], err)
		}
	}()
	r, err := l.Verify(cmd.Context())
	if err != nil {
		return fmt.Errorf("verifying %s: %w", args[0], err)
	}
	out := cmd.OutOrStdout()
	if opts.json {
		if err := writeJSON(out, r); err != nil {
			return err
		}
	} else {
		for _, p := range r.Problems {
			fmt.Fprintln(out, p)
		}
		for _, n := range r.Notes {
			fmt.Fprintf(out, "note: %s\n", n)
		}
	}
	if len(r.Problems) > 0 {
		return fmt.Errorf("layout %s is unsound: %d problem(s)", args[0], len(r.Problems))
	}
	if !opts.json {
		fmt.Fprintf(out, "%s: sound: %d entries, %d blobs, %s hashed\n", args[0], r.Entries, r.Blobs, formatBytes(r.Bytes))
	}
	return nil
}
