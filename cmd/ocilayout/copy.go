package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	retrying "github.com/ocilayout/ocilayout/internal/retry"
	"github.com/ocilayout/ocilayout/shortname"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/pkg/compression"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/types"
)

// copyOptions holds the flags of "ocilayout copy"; names follow skopeo copy.
type copyOptions struct {
	global   *globalOptions
	src      imageOptions
	dest     imageOptions
	platform platformOptions
	policy   policyOptions
	short    shortNameOptions

	all              bool
	multiArch        string
	format           string
	removeSignatures bool
	compress         bool
	compressFormat   string
	compressLevel    int
	forceCompress    bool
	preserveDigests  bool
	quiet            bool
	digestFile       string
	retryTimes       int
	retryDelay       time.Duration
	trustLinks       bool
	referrers        bool   // copy_referrers.go
	registriesD      string // copy_sigstore.go
}

func newCopyCommand(global *globalOptions) *cobra.Command {
	opts := &copyOptions{global: global, src: imageOptions{prefix: "src-"}, dest: imageOptions{prefix: "dest-"}}
	cmd := &cobra.Command{
		Use:   "copy [flags] SOURCE-IMAGE DESTINATION-IMAGE",
		Short: "Copy an image from one location to another",
		Long: `Copy an image between any two transports, e.g. from a registry or a dir:
into an oci-layout: layout. Progress goes to stderr (bars on a terminal,
plain lines otherwise); --quiet turns it off.`,
		Example: `  ocilayout copy --insecure-policy docker://quay.io/libpod/alpine:latest oci-layout:./images:alpine:latest
  ocilayout copy oci-layout:./images:alpine:latest dir:./alpine
  ocilayout copy --all --digestfile digest.txt oci:./old:app oci-layout:./images:app
  ocilayout copy --format v2s2 oci-layout:./images:alpine:latest dir:./alpine-v2s2
  ocilayout copy --dest-compress-format zstd dir:./alpine oci-layout:./images:alpine:zstd`,
		Args: exactArgs(2, "SOURCE-IMAGE and DESTINATION-IMAGE"),
		RunE: func(cmd *cobra.Command, args []string) error { return opts.run(cmd, args) },
	}
	fs := cmd.Flags()
	opts.src.addFlags(fs)
	opts.dest.addFlags(fs)
	opts.platform.addFlags(fs)
	opts.policy.addFlags(fs)
	opts.short.addFlags(fs)
	fs.BoolVarP(&opts.all, "all", "a", false, "copy all images if SOURCE-IMAGE is a list (same as --multi-arch=all)")
	fs.StringVar(&opts.multiArch, "multi-arch", "", "`MODE` for a list: system (the image for this platform), all, or index-only")
	fs.StringVarP(&opts.format, "format", "f", "", "manifest `TYPE` (oci or v2s2) to write (default: that of the source, with fallbacks)")
	fs.BoolVar(&opts.removeSignatures, "remove-signatures", false, "do not copy signatures from SOURCE-IMAGE")
	fs.BoolVar(&opts.compress, "dest-compress", false, "compress uncompressed layers (gzip unless --dest-compress-format); by default an oci-layout: or dir: destination stores layers as they are")
	fs.StringVar(&opts.compressFormat, "dest-compress-format", "", "compress layers with `FORMAT` (gzip, zstd or zstd:chunked)")
	fs.IntVar(&opts.compressLevel, "dest-compress-level", 0, "compression `LEVEL` for --dest-compress-format (default: the algorithm's)")
	fs.BoolVar(&opts.forceCompress, "dest-force-compress-format", false, "use --dest-compress-format for every layer, recompressing if needed")
	fs.BoolVar(&opts.preserveDigests, "preserve-digests", false, "fail rather than change any digest (no conversion or recompression)")
	fs.BoolVarP(&opts.quiet, "quiet", "q", false, "do not report progress")
	fs.StringVar(&opts.digestFile, "digestfile", "", "write the digest of the copied manifest to `FILE`")
	fs.IntVar(&opts.retryTimes, "retry-times", 0, "retry a failed copy up to `N` times")
	fs.DurationVar(&opts.retryDelay, "retry-delay", 0, "`DELAY` between retries (default: exponential, from 1s)")
	fs.BoolVar(&opts.referrers, "referrers", false, "copy the image's referrers too (SBOMs, attestations, signatures, recursively; cosign tags), between oci-layout: and docker://")
	fs.StringVar(&opts.registriesD, "registries.d", "", "use registry configuration files in `DIR` (e.g. for use-sigstore-attachments), as skopeo's global flag")
	fs.BoolVar(&opts.trustLinks, "trust-linked-blobs", false, "link blobs from other oci-layout layouts on this file system without hashing them (only when every such layout is trusted)")
	return cmd
}

// manifestFormats maps skopeo's --format names to MIME types. v2s1 is not
// offered: it is deprecated and cannot represent OCI layouts faithfully.
var manifestFormats = map[string]string{
	"oci":  imgspecv1.MediaTypeImageManifest,
	"v2s2": manifest.DockerV2Schema2MediaType,
}

func (opts *copyOptions) run(cmd *cobra.Command, args []string) error {
	ctx := cmd.Context()
	fs := cmd.Flags()

	copyOpts, err := opts.copyOptions(fs.Changed)
	if err != nil {
		return err
	}
	if copyOpts.SourceCtx, err = opts.src.systemContext(fs, &opts.platform); err != nil {
		return err
	}
	if copyOpts.DestinationCtx, err = opts.dest.systemContext(fs, &opts.platform); err != nil {
		return err
	}
	copyOpts.SourceCtx.RegistriesDirPath, copyOpts.DestinationCtx.RegistriesDirPath = opts.registriesD, opts.registriesD
	if err := opts.applyCompression(copyOpts.DestinationCtx, copyOpts); err != nil {
		return err
	}

	srcRef, srcErr := opts.global.parseImageName(args[0])
	if srcErr != nil && !shortname.Applies(args[0]) {
		return fmt.Errorf("invalid source name %q: %w", args[0], srcErr)
	}
	destRef, err := opts.global.parseImageName(args[1])
	if err != nil {
		return fmt.Errorf("invalid destination name %q: %w", args[1], err)
	}
	var resolved *shortname.Resolution // a source without transport ("debian:12")
	if srcErr != nil {
		if srcRef, destRef, resolved, err = opts.short.resolveSource(ctx, copyOpts.SourceCtx, args[0], destRef, copyOpts.ReportWriter); err != nil {
			return err
		}
	}

	if opts.referrers {
		if err := checkReferrersTransports(srcRef, destRef); err != nil {
			return err
		}
	}
	srcRef, destRef = tuneForCopy(srcRef, destRef, opts.trustLinks)
	skipBlobInfoCache(destRef, copyOpts.DestinationCtx)
	// The bound is for copy.Image's compressors (copymem.go): the direct
	// route compresses nothing and keeps its own blobs in flight.
	layers, limit := boundCompressionMemory(destRef.Transport().Name(), copyOpts.DestinationCtx, opts.forceCompress)
	bound := func(o *copy.Options) {
		if layers > 0 {
			o.MaxParallelDownloads = layers
			setMemoryLimit(limit)
		}
	}

	policyCtx, err := opts.policy.policyContext(copyOpts.SourceCtx)
	if err != nil {
		return err
	}
	defer func() { _ = policyCtx.Destroy() }()

	var manifestBytes []byte
	err = retry(ctx, opts.retryTimes, opts.retryDelay, copyOpts.ReportWriter, func() error {
		var err error
		manifestBytes, err = copyDirectOrImage(ctx, policyCtx, destRef, srcRef, copyOpts, copyOpts.ReportWriter, bound)
		return err
	})
	if err != nil {
		return fmt.Errorf("copying %s to %s: %w", args[0], args[1], err)
	}
	if resolved != nil {
		if err := resolved.Record(); err != nil {
			fmt.Fprintf(os.Stderr, "Warning: %v\n", err) // the image is copied; as podman, only warn
		}
	}
	if opts.referrers {
		d, err := manifest.Digest(manifestBytes)
		if err != nil {
			return fmt.Errorf("computing manifest digest: %w", err)
		}
		if err := copyReferrers(ctx, srcRef, destRef, copyOpts.SourceCtx, copyOpts.DestinationCtx, d, copyOpts.ReportWriter); err != nil {
			return fmt.Errorf("copying %s to %s: %w", args[0], args[1], err)
		}
	}
	if opts.digestFile != "" {
		d, err := manifest.Digest(manifestBytes)
		if err != nil {
			return fmt.Errorf("computing manifest digest: %w", err)
		}
		if err := os.WriteFile(opts.digestFile, []byte(d.String()), 0o644); err != nil {
			return fmt.Errorf("writing digest file: %w", err)
		}
	}
	return nil
}

// copyOptions builds copy.Options from the flags that do not need a
// SystemContext. changed reports whether a flag was given explicitly.
func (opts *copyOptions) copyOptions(changed func(string) bool) (*copy.Options, error) {
	o := &copy.Options{
		RemoveSignatures: opts.removeSignatures,
		PreserveDigests:  opts.preserveDigests,
		ReportWriter:     os.Stderr,
	}
	if opts.quiet {
		o.ReportWriter = io.Discard
	}
	if opts.format != "" {
		mt, ok := manifestFormats[strings.ToLower(opts.format)]
		if !ok {
			return nil, usagef("invalid --format %q: must be oci or v2s2", opts.format)
		}
		o.ForceManifestMIMEType = mt
	}
	sel, err := opts.listSelection(changed("multi-arch"))
	if err != nil {
		return nil, err
	}
	o.ImageListSelection = sel
	if opts.retryTimes < 0 {
		return nil, usagef("invalid --retry-times %d: must not be negative", opts.retryTimes)
	}
	return o, nil
}

// listSelection reconciles --all with --multi-arch as skopeo does: --all
// is shorthand for --multi-arch=all and the two must not disagree.
func (opts *copyOptions) listSelection(multiArchGiven bool) (copy.ImageListSelection, error) {
	if !multiArchGiven {
		if opts.all {
			return copy.CopyAllImages, nil
		}
		return copy.CopySystemImage, nil
	}
	var sel copy.ImageListSelection
	switch opts.multiArch {
	case "system":
		sel = copy.CopySystemImage
	case "all":
		sel = copy.CopyAllImages
	case "index-only":
		sel = copy.CopySpecificImages // with no Instances: the index alone
	default:
		return 0, usagef("invalid --multi-arch %q: must be system, all or index-only", opts.multiArch)
	}
	if opts.all && sel != copy.CopyAllImages {
		return 0, usagef("--all conflicts with --multi-arch=%s", opts.multiArch)
	}
	return sel, nil
}

// applyCompression sets the destination's layer compression from
// --dest-compress, --dest-compress-format and --dest-compress-level.
func (opts *copyOptions) applyCompression(sys *types.SystemContext, o *copy.Options) error {
	if opts.compressFormat != "" {
		algo, err := compression.AlgorithmByName(opts.compressFormat)
		if err != nil {
			return usagef("invalid --dest-compress-format %q: must be gzip, zstd or zstd:chunked", opts.compressFormat)
		}
		sys.CompressionFormat = &algo
		o.ForceCompressionFormat = opts.forceCompress
	} else if opts.forceCompress {
		return usagef("--dest-force-compress-format needs --dest-compress-format")
	}
	if opts.compress {
		sys.DirForceCompress = true // dir: and oci-layout: compress; oci: and registries always do
	}
	if opts.compressLevel != 0 {
		lvl := opts.compressLevel
		sys.CompressionLevel = &lvl
	}
	return nil
}

// policyOptions select the signature policy that copy.Image enforces.
type policyOptions struct {
	path     string
	insecure bool
}

func (p *policyOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&p.path, "policy", "", "signature policy `FILE` (default: /etc/containers/policy.json or the user's)")
	fs.BoolVar(&p.insecure, "insecure-policy", false, "accept any image, ignoring the signature policy")
}

// policyContext loads the policy (see policy) into a PolicyContext.
func (p *policyOptions) policyContext(sys *types.SystemContext) (*signature.PolicyContext, error) {
	policy, err := p.policy(sys)
	if err != nil {
		return nil, err
	}
	pc, err := signature.NewPolicyContext(policy)
	if err != nil {
		return nil, fmt.Errorf("loading trust policy: %w", err)
	}
	return pc, nil
}

// policy loads the policy: insecureAcceptAnything with --insecure-policy,
// the given file with --policy, the system default otherwise. Giving both
// is rejected rather than silently ignoring one.
func (p *policyOptions) policy(sys *types.SystemContext) (*signature.Policy, error) {
	switch {
	case p.insecure && p.path != "":
		return nil, usagef("--policy and --insecure-policy cannot be used together")
	case p.insecure:
		return &signature.Policy{Default: []signature.PolicyRequirement{signature.NewPRInsecureAcceptAnything()}}, nil
	}
	psys := *sys
	psys.SignaturePolicyPath = p.path
	policy, err := signature.DefaultPolicy(&psys)
	if err != nil {
		return nil, fmt.Errorf("loading trust policy: %w", err)
	}
	return policy, nil
}

// retry runs f up to 1+times times; see retry.Do.
func retry(ctx context.Context, times int, delay time.Duration, report io.Writer, f func() error) error {
	return retrying.Do(ctx, times, delay, report, f)
}
