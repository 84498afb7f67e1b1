package main

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ocilayout/ocilayout/mirror"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/transports"
	"go.podman.io/image/v5/types"
	"golang.org/x/term"
)

// syncOptions holds the flags of "ocilayout sync"; names follow skopeo
// sync, plus --tags, --immutable-tags, --prune, --parallel and --json.
type syncOptions struct {
	global *globalOptions
	src    imageOptions
	dest   imageOptions
	policy policyOptions

	srcTransport, destTransport string
	tags, excludeTags           string
	immutableTags               string
	scoped                      bool
	naming                      string
	appendSuffix                string
	all                         bool
	platforms                   []string
	referrers                   bool
	removeSignatures            bool
	preserveDigests             bool
	retryTimes                  int
	retryDelay                  time.Duration
	keepGoing, dryRun, prune    bool
	keepUnreferenced            bool
	parallel                    int
	json, quiet                 bool
	digestFile                  string
}

func newSyncCommand(global *globalOptions) *cobra.Command {
	opts := &syncOptions{global: global, src: imageOptions{prefix: "src-"}, dest: imageOptions{prefix: "dest-"}}
	cmd := &cobra.Command{
		Use:   "sync [flags] SOURCE DESTINATION",
		Short: "Mirror whole repositories into one layout, out of it, or between layouts",
		Long: `Copy every tag of a repository (or those --tags matches) into one OCI layout,
every name of a layout into a registry, or a layout into another, copying only
what changed: an unchanged tag costs one manifest HEAD, an --immutable-tags tag
already held costs nothing, and blobs the layout has are never fetched again.

SOURCE is docker://REG/REPO[:TAG], a layout (PATH or oci-layout:PATH), a Docker
Engine store read without its daemon (docker-storage:ROOT: its named images), or
with --src yaml a skopeo sync YAML file. DESTINATION is a layout (PATH or
oci-layout:PATH) or docker://REG/PREFIX. Names: into a layout REG/REPO:TAG
(--naming repo: REPO:TAG, base: BASE:TAG); into a registry
REG/PREFIX/REPO:TAG (--scoped: REG/PREFIX/REG0/REPO:TAG).`,
		Example: `  ocilayout sync docker://quay.io/libpod/alpine ./mirror
  ocilayout sync --tags '^3\.' --immutable-tags '^3\.[0-9]+\.[0-9]+$' docker://docker.io/library/alpine ./mirror
  ocilayout sync --src yaml sync.yml ./mirror
  ocilayout sync ./mirror docker://registry.internal:5000/mirror`,
		Args: exactArgs(2, "SOURCE and DESTINATION"),
		RunE: func(cmd *cobra.Command, args []string) error { return opts.run(cmd, args) },
	}
	fs := cmd.Flags()
	opts.src.addFlags(fs)
	opts.dest.addFlags(fs)
	opts.policy.addFlags(fs)
	fs.StringVarP(&opts.srcTransport, "src", "s", "", "SOURCE `TRANSPORT` when SOURCE has no prefix: docker, oci-layout or yaml")
	fs.StringVarP(&opts.destTransport, "dest", "d", "", "DESTINATION `TRANSPORT` when DESTINATION has no prefix: docker or oci-layout")
	fs.StringVar(&opts.tags, "tags", "", "sync only the tags (names, from a layout) this `REGEXP` matches (unanchored)")
	fs.StringVar(&opts.excludeTags, "exclude-tags", "", "skip the tags this `REGEXP` matches, e.g. cosign's '\\.(sig|att|sbom)$' (Go regexps have no negative lookahead for --tags)")
	fs.StringVar(&opts.immutableTags, "immutable-tags", "", "tags this `REGEXP` matches never change: when held, not even checked upstream")
	fs.BoolVar(&opts.scoped, "scoped", false, "keep the whole source name: same as --naming full")
	fs.StringVar(&opts.naming, "naming", "", "destination names keep the `PART` full (REG/REPO:TAG), repo (REPO:TAG) or base (BASE:TAG) (default: full into a layout, repo into a registry)")
	fs.StringVar(&opts.appendSuffix, "append-suffix", "", "`STRING` to append to destination tags")
	fs.BoolVarP(&opts.all, "all", "a", false, "copy all images of a multi-platform source")
	fs.StringArrayVar(&opts.platforms, "platform", nil, "of a multi-platform source, copy the images for `OS/ARCH[/VARIANT]` (repeatable), as a list of them")
	fs.BoolVar(&opts.referrers, "referrers", false, "carry each image's referrers (signatures, SBOMs, attestations, recursively; cosign tags), also of unchanged images")
	fs.BoolVar(&opts.removeSignatures, "remove-signatures", false, "do not copy signatures")
	fs.BoolVar(&opts.preserveDigests, "preserve-digests", false, "fail rather than change any digest (no conversion or recompression)")
	fs.IntVar(&opts.retryTimes, "retry-times", 0, "retry a failed image copy up to `N` times")
	fs.DurationVar(&opts.retryDelay, "retry-delay", 0, "`DELAY` between retries (default: exponential, from 1s)")
	fs.BoolVar(&opts.keepGoing, "keep-going", false, "do not stop at the first failed image: sync the rest, then fail naming each failed one")
	fs.BoolVar(&opts.dryRun, "dry-run", false, "check what exists (tag lists, manifest HEADs) and copy or delete nothing")
	fs.BoolVar(&opts.prune, "prune", false, "delete from the destination layout the tags a synced repository no longer has")
	fs.BoolVar(&opts.keepUnreferenced, "keep-unreferenced", false, "do not reclaim the blobs of images whose tag moved (by default a sync that moved a tag ends with a gc)")
	fs.IntVar(&opts.parallel, "parallel", 1, "check and copy `N` images at once")
	fs.BoolVar(&opts.json, "json", false, "print the report as JSON (per image: source, destination, digest, action, error; totals)")
	fs.BoolVarP(&opts.quiet, "quiet", "q", false, "print nothing but errors (and --json)")
	fs.StringVar(&opts.digestFile, "digestfile", "", "write \"DIGEST DESTINATION\" of each synced image to `FILE`, one a line")
	return cmd
}

func (opts *syncOptions) run(cmd *cobra.Command, args []string) error {
	fs := cmd.Flags()
	srcSys, err := opts.src.systemContext(fs, nil)
	if err != nil {
		return err
	}
	destSys, err := opts.dest.systemContext(fs, nil)
	if err != nil {
		return err
	}
	mo := mirror.Options{
		Copy: copy.Options{
			RemoveSignatures: opts.removeSignatures,
			PreserveDigests:  opts.preserveDigests,
		},
		Suffix:     opts.appendSuffix,
		Parallel:   opts.parallel,
		RetryTimes: opts.retryTimes,
		RetryDelay: opts.retryDelay,
		KeepGoing:  opts.keepGoing,
		DryRun:     opts.dryRun,
		Prune:      opts.prune,

		KeepUnreferenced: opts.keepUnreferenced,
	}
	if opts.all {
		mo.Copy.ImageListSelection = copy.CopyAllImages
	}
	mo.Referrers = opts.referrers
	if mo.Platforms, err = parsePlatforms(opts.platforms); err != nil {
		return err
	}
	if opts.all && len(mo.Platforms) > 0 {
		return usagef("--all conflicts with --platform")
	}
	if opts.parallel < 1 || opts.retryTimes < 0 {
		return usagef("--parallel must be at least 1 and --retry-times not negative")
	}
	if mo.Naming, err = opts.namingFlag(); err != nil {
		return err
	}
	filter, err := opts.tagFilter()
	if err != nil {
		return err
	}
	if opts.immutableTags != "" {
		if mo.ImmutableTags, err = regexp.Compile(opts.immutableTags); err != nil {
			return usagef("invalid --immutable-tags: %w", err)
		}
	}
	if mo.Sources, err = parseSyncSource(args[0], opts.srcTransport, filter, srcSys); err != nil {
		return err
	}
	if mo.Destination, err = parseSyncDestination(args[1], opts.destTransport); err != nil {
		return err
	}
	mo.Destination.Sys = destSys
	if mo.Policy, err = opts.policy.policy(srcSys); err != nil {
		return err
	}

	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	var bars *syncBars
	switch {
	case opts.quiet || opts.json:
	case isTerminal(stderr):
		bars = newSyncBars(stderr)
		mo.Progress = bars
	default:
		mo.Log = stdout
	}
	report, err := mirror.Run(cmd.Context(), mo)
	if bars != nil {
		bars.wait()
	}
	if report == nil {
		return err
	}
	if opts.json {
		if werr := report.WriteJSON(stdout); werr != nil {
			return werr
		}
	} else if !opts.quiet {
		fmt.Fprintln(stdout, report.Summary())
	}
	if opts.digestFile != "" && !opts.dryRun {
		if werr := writeSyncDigests(opts.digestFile, report); werr != nil {
			return werr
		}
	}
	return err
}

// tagFilter combines --tags and --exclude-tags; nil when neither is given.
func (opts *syncOptions) tagFilter() (func(string) bool, error) {
	if opts.tags == "" && opts.excludeTags == "" {
		return nil, nil
	}
	include, exclude := regexp.MustCompile(""), (*regexp.Regexp)(nil)
	var err error
	if opts.tags != "" {
		if include, err = regexp.Compile(opts.tags); err != nil {
			return nil, usagef("invalid --tags: %w", err)
		}
	}
	if opts.excludeTags != "" {
		if exclude, err = regexp.Compile(opts.excludeTags); err != nil {
			return nil, usagef("invalid --exclude-tags: %w", err)
		}
	}
	return func(tag string) bool {
		return include.MatchString(tag) && (exclude == nil || !exclude.MatchString(tag))
	}, nil
}

func (opts *syncOptions) namingFlag() (mirror.Naming, error) {
	n, err := mirror.ParseNaming(opts.naming)
	if err != nil {
		return 0, usagef("--naming: %w", err)
	}
	if opts.scoped {
		if n != mirror.NamingDefault && n != mirror.NamingFull {
			return 0, usagef("--scoped conflicts with --naming %s", n)
		}
		n = mirror.NamingFull
	}
	return n, nil
}

// parseSyncSource reads SOURCE: docker://REG/REPO, a layout, or (with
// --src yaml) a skopeo sync YAML file.
func parseSyncSource(arg, transport string, filter func(string) bool, sys *types.SystemContext) ([]mirror.Source, error) {
	kind, rest, err := syncEndpoint(arg, transport, "yaml")
	if err != nil {
		return nil, err
	}
	switch kind {
	case "yaml":
		if filter != nil {
			return nil, usagef("--tags cannot be used with --src yaml: the file says which tags")
		}
		return mirror.ReadYAMLSources(rest, sys)
	case "docker":
		return []mirror.Source{{Repository: rest, Filter: filter, Sys: sys}}, nil
	case "docker-storage":
		return []mirror.Source{{DockerStorage: rest, Filter: filter, Sys: sys}}, nil
	}
	return []mirror.Source{{Layout: rest, Filter: filter, Sys: sys}}, nil
}

// parseSyncDestination reads DESTINATION: docker://REG/PREFIX or a layout.
func parseSyncDestination(arg, transport string) (mirror.Destination, error) {
	kind, rest, err := syncEndpoint(arg, transport, "")
	if err != nil {
		return mirror.Destination{}, err
	}
	if kind == "docker" {
		return mirror.Destination{Registry: rest}, nil
	}
	return mirror.Destination{Layout: rest}, nil
}

// syncEndpoint splits a sync argument into its kind ("docker",
// "oci-layout" or extra) and the rest. Without --src/--dest, the prefix
// says: docker:// or oci-layout:, and a bare PATH is a layout; other
// transports are refused rather than taken for a path.
func syncEndpoint(arg, transport, extra string) (string, string, error) {
	if transport != "" {
		if transport != "docker" && transport != "oci-layout" && (extra == "" || transport != extra) {
			return "", "", usagef("unsupported sync transport %q", transport)
		}
		return transport, strings.TrimPrefix(arg, transport+":"), nil
	}
	if rest, ok := strings.CutPrefix(arg, "docker://"); ok {
		return "docker", rest, nil
	}
	if rest, ok := strings.CutPrefix(arg, "docker-storage:"); ok && extra != "" {
		if rest == "" || strings.Contains(rest, ":") {
			return "", "", usagef("%q: sync reads a whole Docker store, docker-storage:ROOT, without a name", arg)
		}
		return "docker-storage", rest, nil
	}
	if rest, ok := strings.CutPrefix(arg, "oci-layout:"); ok {
		if strings.Contains(rest, ":") {
			return "", "", usagef("%q: sync takes a whole layout, oci-layout:PATH, without a name", arg)
		}
		return "oci-layout", rest, nil
	}
	if name, _, ok := strings.Cut(arg, ":"); ok && transports.Get(name) != nil {
		return "", "", usagef("%q: sync supports docker://, oci-layout: and (as a source) docker-storage: only", arg)
	}
	return "oci-layout", arg, nil
}

// writeSyncDigests writes skopeo sync's --digestfile: "DIGEST NAME" for
// each image copied or found unchanged.
func writeSyncDigests(file string, r *mirror.Report) error {
	var b strings.Builder
	for _, res := range r.Images {
		if res.Digest != "" && res.Action != mirror.ActionFailed && res.Action != mirror.ActionPruned {
			fmt.Fprintf(&b, "%s %s\n", res.Digest, res.Destination)
		}
	}
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("writing digest file: %w", err)
	}
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// parsePlatforms reads --platform OS/ARCH[/VARIANT] values.
func parsePlatforms(values []string) ([]imgspecv1.Platform, error) {
	var out []imgspecv1.Platform
	for _, v := range values {
		parts := strings.Split(v, "/")
		if len(parts) < 2 || len(parts) > 3 || slices.Contains(parts, "") {
			return nil, usagef("invalid --platform %q: want OS/ARCH[/VARIANT], e.g. linux/arm64/v8", v)
		}
		p := imgspecv1.Platform{OS: parts[0], Architecture: parts[1]}
		if len(parts) == 3 {
			p.Variant = parts[2]
		}
		out = append(out, p)
	}
	return out, nil
}
