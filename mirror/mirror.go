// Package mirror keeps a copy of whole repositories in sync: from
// registries into one OCI image layout (the offline mirror), from a layout
// into a registry, or between layouts. It plans first (what the source
// has against what the destination already holds, at one manifest HEAD per
// tag and none for immutable tags already held) and then copies what
// changed with copy.Image, Parallel images at a time. Layers already in a
// destination layout are never fetched again, so a sync that was
// interrupted resumes where it stopped, and an image the layout holds
// under another name is only given the new name.
//
// Every call into the layout engine is in layout.go.
package mirror

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/types"
)

// Source is one set of images to mirror: a registry repository or a
// layout. Exactly one of Repository and Layout is set.
type Source struct {
	// Repository is a Docker repository, REG/REPO (docker.io/library/alpine
	// may be written alpine), optionally with :TAG or @DIGEST for a single
	// image.
	Repository string
	// Layout is the directory of an OCI layout, whose named entries are the
	// images (signatures travel with the image they sign).
	Layout string
	// DockerStorage is the root of a Docker Engine store on disk (as
	// /var/lib/docker), whose named images are read without the daemon
	// (see the dockerstorage package).
	DockerStorage string
	// Tags, when set, are the tags (or digests, "sha256:...") to mirror
	// instead of listing the repository, as skopeo sync YAML's images.
	Tags []string
	// Filter, when set, keeps only the listed tags it accepts (a tag regexp
	// or a semver constraint).
	Filter func(tag string) bool
	// Sys is the SystemContext for reading this source (credentials, TLS,
	// certificates); nil for the defaults.
	Sys *types.SystemContext
}

// Destination is where images go: a registry prefix or a layout. Exactly
// one of Registry and Layout is set.
type Destination struct {
	// Registry is REG/PREFIX; each image goes to REG/PREFIX/NAME, where NAME
	// depends on Options.Naming.
	Registry string
	// Layout is the directory of the destination layout, created if missing.
	Layout string
	// Sys is the SystemContext for writing (and HEAD-checking) the
	// destination; nil for the defaults.
	Sys *types.SystemContext
}

// Options describe one sync. Policy is required; the zero value of every
// other field is a sensible default.
type Options struct {
	// Sources are synced in order, each tag once (a second source writing
	// the same destination name fails for that image).
	Sources []Source
	// Destination receives every image of every source.
	Destination Destination
	// Policy decides which source images are accepted, as for copy.Image.
	// It is a Policy, not a PolicyContext, because a PolicyContext serves
	// one copy at a time: each of the Parallel workers makes its own.
	Policy *signature.Policy
	// Copy is the template of every copy.Image call (signatures, digests,
	// list selection, ...); its SourceCtx, DestinationCtx and ReportWriter
	// are set per image.
	Copy copy.Options
	// Platforms, when set, copy of a list only the instances of these
	// platforms (OS and architecture, and variant when given; every
	// variant otherwise), as a list stripped to them: the destination
	// holds a list of its own digest. A list with none of them fails.
	// Conflicts with Copy.ImageListSelection = copy.CopyAllImages.
	Platforms []imgspecv1.Platform
	// Referrers carries with each image copied or found unchanged its
	// referrer graph (signatures, SBOMs, attestations, recursively, and
	// cosign's tags), as "ocilayout copy --referrers" does: see
	// referrers.Copy. It costs a referrers query per image and re-sync.
	Referrers bool
	// Naming and Suffix make destination names (see Naming); Suffix is
	// appended to every tag, as skopeo's --append-suffix.
	Naming Naming
	Suffix string
	// ImmutableTags: a tag it matches that the destination already holds
	// is not even checked upstream (no request at all).
	ImmutableTags *regexp.Regexp
	// Parallel is how many images are checked or copied at once (default 1).
	Parallel int
	// RetryTimes and RetryDelay retry each failed copy as skopeo's
	// --retry-times and --retry-delay do.
	RetryTimes int
	RetryDelay time.Duration
	// KeepGoing copies every image even when some fail; Run then returns an
	// error naming each failed image. Without it the first failure stops
	// the sync (copies already running finish).
	KeepGoing bool
	// DryRun checks what exists (the tag lists and manifest HEADs a real
	// run makes) and copies and deletes nothing.
	DryRun bool
	// Prune deletes, from a destination layout, the entries of a mirrored
	// repository whose tag the source no longer has (only tags the source's
	// Filter accepts: a narrower filter never prunes what it does not see).
	Prune bool
	// KeepUnreferenced leaves in a destination layout the blobs that only
	// the old images of moved tags used. By default a sync that moved a
	// tag ends with the engine's GC (safe beside other writers), so that a
	// mirror does not grow by every replaced image; a sync that moved
	// nothing does not collect.
	KeepUnreferenced bool
	// Log, when set, receives one line per image as it is done ("copied
	// NAME DIGEST", "unchanged NAME DIGEST", ...) and the retry notices.
	Log io.Writer
	// Progress, when set, is told about each image as it is planned,
	// copied and done (for progress bars; see Progress).
	Progress Progress
}

// Progress follows a sync. Planned is called once, before any image is
// checked; Finished once per image, never two at a time; Started from the
// workers, possibly concurrently.
type Progress interface {
	// Planned says how many images the sync will check.
	Planned(images int)
	// Started says that copy.Image is about to copy source to destination
	// and returns the channel it should report on, or nil. Run closes the
	// channel once that copy is over (after its retries), before calling
	// Finished for it.
	Started(source, destination string) chan types.ProgressProperties
	// Finished gives the result of one image.
	Finished(Result)
}

// FailedError is what Run returns when images failed: each failed image is
// named, in the order they were planned.
type FailedError struct {
	Failed []Result
	Total  int
}

func (e *FailedError) Error() string {
	s := fmt.Sprintf("%d of %d images failed:", len(e.Failed), e.Total)
	for i, r := range e.Failed {
		if i > 0 {
			s += ";"
		}
		what := r.Source
		if what == "" {
			what = r.Destination
		}
		s += fmt.Sprintf(" %s: %s", what, r.Error)
	}
	return s
}

func (o *Options) validate() error {
	d := o.Destination
	if (d.Registry == "") == (d.Layout == "") {
		return errors.New("the destination must be either a registry or a layout")
	}
	if len(o.Sources) == 0 {
		return errors.New("no source to sync")
	}
	for _, s := range o.Sources {
		n := 0
		for _, v := range []string{s.Repository, s.Layout, s.DockerStorage} {
			if v != "" {
				n++
			}
		}
		if n != 1 {
			return errors.New("each source must be one of a repository, a layout or a Docker store")
		}
	}
	if o.Policy == nil {
		return errors.New("a signature policy is required")
	}
	if o.Prune && d.Layout == "" {
		return errors.New("prune is only supported into a layout")
	}
	if len(o.Platforms) > 0 {
		if o.Copy.ImageListSelection == copy.CopyAllImages {
			return errors.New("platforms conflict with copying all images of a list")
		}
		o.Copy.ImageListSelection = copy.CopySpecificImages
		o.Copy.SparseManifestListAction = copy.StripSparseManifestList
		for _, pl := range o.Platforms {
			if pl.OS == "" || pl.Architecture == "" {
				return fmt.Errorf("platform %q: want OS/ARCH[/VARIANT]", platformString(pl))
			}
		}
	}
	if o.Parallel < 0 || o.RetryTimes < 0 {
		return errors.New("parallel and retry times must not be negative")
	}
	return nil
}
