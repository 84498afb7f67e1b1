// Command ocilayout copies, inspects and lists container images, with the
// oci-layout: transport for on-disk OCI image layouts linked in alongside
// every transport containers/image ships (docker://, dir:, oci:, ...).
//
// Its flags deliberately mirror skopeo's so that a skopeo command line works
// here after replacing the program name.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
)

// Exit codes: scripts can tell a mistyped command line from a failed operation.
const (
	exitFailure = 1 // the operation ran and failed
	exitUsage   = 2 // the command line was not understood
)

// usageError marks errors in the command line itself (bad flag, wrong number
// of arguments, unknown flag value), as opposed to failures while running.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef returns a usageError with a formatted message.
func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// globalOptions are the flags accepted before or after any subcommand.
type globalOptions struct {
	logLevel    string
	lockTimeout time.Duration // see locks.go
	stderr      io.Writer
}

func newRootCommand() *cobra.Command {
	var global globalOptions
	root := &cobra.Command{
		Use:   "ocilayout",
		Short: "Copy, inspect and list container images, with safe on-disk OCI layouts",
		Long: `ocilayout copies, inspects and lists container images. It links the
oci-layout: transport (atomic, locked, verified on-disk OCI image layouts)
together with every transport containers/image provides.

Image references are TRANSPORT:DETAILS, for example
  oci-layout:./images:app:v1       the image named app:v1 in the layout ./images
  oci-layout:./images:@0           the first entry of ./images/index.json
  oci-layout:./images:@sha256:HEX  the manifest with that digest
  dir:./unpacked, oci:./other:tag, docker://quay.io/org/image:tag`,
		// Errors are printed once, by main, as a single line; cobra's own
		// printing would duplicate them and add the whole usage text.
		SilenceErrors: true,
		SilenceUsage:  true,
		Version:       version(),
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			global.stderr = cmd.ErrOrStderr()
			return global.setUpLogging()
		},
	}
	root.PersistentFlags().StringVar(&global.logLevel, "log-level", "error",
		"containers/image log `LEVEL` on stderr (debug, info, warn, error)")
	global.addLockFlag(root.PersistentFlags())
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		if cmd == cmd.Root() {
			return usageError{err}
		}
		return usageError{fmt.Errorf("%s: %w", cmd.Name(), err)}
	})
	root.AddCommand(
		newCopyCommand(&global),
		newInspectCommand(&global),
		newListCommand(&global),
		newDeleteCommand(&global),
		newGCCommand(&global),
		newVerifyCommand(&global),
		newSignCommand(&global),
		newCommitCommand(&global),
		newServeCommand(&global),
		newReferrersCommand(&global),
		newAttachCommand(&global),
		newSyncCommand(&global),
	)
	return root
}

// setUpLogging quiets containers/image's logrus output by default: a failed
// command must leave exactly one line on stderr, its error.
func (g *globalOptions) setUpLogging() error {
	lvl, err := logrus.ParseLevel(g.logLevel)
	if err != nil {
		return usagef("invalid --log-level %q: %w", g.logLevel, err)
	}
	logrus.SetLevel(lvl)
	logrus.SetOutput(os.Stderr)
	return nil
}

// version reports the module version the binary was built from ("(devel)"
// for a plain go build in the work tree) and its VCS revision when known.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			v += " " + s.Value
		}
	}
	return v
}

// exactArgs is cobra.ExactArgs returning a usageError whose text names the
// expected arguments, so the one-line error says what was missing.
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s: expected %s, got %d argument(s) (see '%s --help')",
				cmd.Name(), names, len(args), cmd.CommandPath())
		}
		return nil
	}
}

// run executes the CLI with args and returns the process exit code; it is
// separate from main so that deferred cleanups run before os.Exit.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	root := newRootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "ocilayout: %s\n", oneLine(err.Error()))
	var ue usageError
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command ") {
		return exitUsage
	}
	return exitFailure
}

// oneLine folds a possibly multi-line error message (containers/image joins
// some errors with newlines) into the single line the CLI promises.
func oneLine(s string) string {
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "; ")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
