package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ocilayout/ocilayout/commit"
	"github.com/spf13/cobra"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/signature"
	"go.podman.io/storage"
)

// commitOptions holds the flags of "ocilayout commit"; names follow
// podman commit, and podman's --root/--runroot/--storage-driver with a
// storage- prefix.
type commitOptions struct {
	global  *globalOptions
	dest    imageOptions
	format  string
	author  string
	message string
	changes []string
	quiet   bool
	root    string
	runRoot string
	driver  string
	opts    []string
}

func newCommitCommand(global *globalOptions) *cobra.Command {
	opts := &commitOptions{global: global, dest: imageOptions{prefix: "dest-"}}
	cmd := &cobra.Command{
		Use:   "commit [flags] CONTAINER DESTINATION-IMAGE",
		Short: "Make an image of a containers/storage container, without its engine",
		Long: `Commit a container of a containers/storage store (podman's, buildah's,
cri-o's) to an image: the container's image layers, its changes as one new
layer, and its image's config with a history entry and --change edits.
Only the store is read: podman need not run. A mounted (running) container
is refused. The store is the one of storage.conf unless --storage-* say
otherwise. CONTAINER is a name or an ID.`,
		Example: `  ocilayout commit web oci-layout:./images:web-snapshot
  ocilayout commit --author "Ops <ops@example.com>" --message "before upgrade" --change "CMD /start.sh" --change "ENV MODE=ro" web oci-layout:./images:web:v2
  ocilayout commit --storage-root /mnt/disk/var/lib/containers/storage --storage-runroot /tmp/run web dir:./web`,
		Args: exactArgs(2, "CONTAINER and DESTINATION-IMAGE"),
		RunE: func(cmd *cobra.Command, args []string) error { return opts.run(cmd, args) },
	}
	fs := cmd.Flags()
	opts.dest.addFlags(fs)
	fs.StringVarP(&opts.format, "format", "f", "oci", "manifest `TYPE` to write (oci or v2s2)")
	fs.StringVarP(&opts.author, "author", "a", "", "record `AUTHOR` in the image")
	fs.StringVarP(&opts.message, "message", "m", "", "record `MESSAGE` as the new history entry's comment")
	fs.StringArrayVarP(&opts.changes, "change", "c", nil, "apply the Dockerfile `INSTRUCTION` (CMD, ENTRYPOINT, ENV, LABEL, EXPOSE, USER, WORKDIR, VOLUME, STOPSIGNAL); repeatable")
	fs.BoolVarP(&opts.quiet, "quiet", "q", false, "do not report progress")
	fs.StringVar(&opts.root, "storage-root", "", "store graph root `DIR` (default: storage.conf's, as podman)")
	fs.StringVar(&opts.runRoot, "storage-runroot", "", "store run root `DIR` (default: storage.conf's)")
	fs.StringVar(&opts.driver, "storage-driver", "", "store graph `DRIVER` (default: storage.conf's)")
	fs.StringArrayVar(&opts.opts, "storage-opt", nil, "store driver `OPTION` (default: storage.conf's); repeatable")
	return cmd
}

func (opts *commitOptions) run(cmd *cobra.Command, args []string) error {
	ctx := cmd.Context()
	mt, ok := manifestFormats[strings.ToLower(opts.format)]
	if !ok {
		return usagef("invalid --format %q: must be oci or v2s2", opts.format)
	}
	destSys, err := opts.dest.systemContext(cmd.Flags(), nil)
	if err != nil {
		return err
	}
	destRef, err := opts.global.parseImageName(args[1])
	if err != nil {
		return fmt.Errorf("invalid destination name %q: %w", args[1], err)
	}

	storeOpts, err := storage.DefaultStoreOptions()
	if err != nil {
		return fmt.Errorf("reading storage.conf: %w", err)
	}
	if opts.root != "" {
		storeOpts.GraphRoot = opts.root
	}
	if opts.runRoot != "" {
		storeOpts.RunRoot = opts.runRoot
	}
	if opts.driver != "" {
		storeOpts.GraphDriverName = opts.driver
	}
	if len(opts.opts) > 0 {
		storeOpts.GraphDriverOptions = opts.opts
	}
	store, err := storage.GetStore(storeOpts)
	if err != nil {
		return fmt.Errorf("opening the store %s: %w", storeOpts.GraphRoot, err)
	}
	// No store.Shutdown: for a process that only read, its one effect
	// would be a write to the store's storage.lock (RecordWrite). The
	// reads mount nothing that outlives them (store.Diff unmounts what a
	// naive diff mounted before returning), so exiting is enough.

	srcRef, err := commit.NewReference(store, args[0], commit.WithFormat(mt), commit.WithAuthor(opts.author),
		commit.WithMessage(opts.message), commit.WithChanges(opts.changes...))
	if err != nil {
		return err
	}
	_, destRef = tuneForCopy(srcRef, destRef, false)

	// The source is the user's own container, read from their store: no
	// signature can exist for it, so no policy applies to it.
	policyCtx, err := signature.NewPolicyContext(&signature.Policy{Default: []signature.PolicyRequirement{signature.NewPRInsecureAcceptAnything()}})
	if err != nil {
		return err
	}
	defer func() { _ = policyCtx.Destroy() }()
	var report io.Writer = os.Stderr
	if opts.quiet {
		report = io.Discard
	}
	man, err := copy.Image(ctx, policyCtx, destRef, srcRef, &copy.Options{
		DestinationCtx:        destSys,
		ForceManifestMIMEType: mt,
		ReportWriter:          report,
	})
	if err != nil {
		return fmt.Errorf("committing container %s to %s: %w", args[0], args[1], err)
	}
	d, err := manifest.Digest(man)
	if err != nil {
		return fmt.Errorf("computing the manifest digest: %w", err)
	}
	fmt.Fprintln(cmd.OutOrStdout(), d)
	return nil
}
