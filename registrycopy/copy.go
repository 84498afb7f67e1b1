package registrycopy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/ocilayout/ocilayout/reference"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/types"
)

// ErrNotApplicable is wrapped by Copy's error when the direct route could
// not give what copy.Image would; the error says why. Nothing has been
// written to the destination then (except, for a registry that refuses
// the OCI manifest at the end of a push, the blobs, which copy.Image
// finds there): copy with copy.Image instead.
var ErrNotApplicable = errors.New("the direct copy does not apply")

func notApplicable(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrNotApplicable}, args...)...)
}

// maxParallel bounds the blobs in flight when o.MaxParallelDownloads does
// not. More is not faster: pulling 256 MiB in 8 layers on 2 cores
// (interleaved, 9 runs) took 1.47 s with 4 at once, 1.26 s with 6 and
// 1.56 s with all 9 (the fsyncs of blobs that finish together queue on
// the disk), and pushes were no faster with all at once either.
const maxParallel = 6

// Copy copies the image src names to dest as copy.Image(ctx, pc, dest,
// src, o) would, digest for digest, when one of them is a docker://
// reference and the other an oci-layout: reference, and returns the
// manifest copied. pc is enforced on the source image before any blob is
// read. It returns an error wrapping ErrNotApplicable, having written
// nothing, when o or the image asks for anything but moving bytes (see
// the package documentation); any other error is the copy's own.
func Copy(ctx context.Context, pc *signature.PolicyContext, dest, src types.ImageReference, o *copy.Options) ([]byte, error) {
	if pc == nil {
		return nil, errors.New("copying without a signature policy context")
	}
	if o == nil {
		o = &copy.Options{}
	}
	if err := checkOptions(o); err != nil {
		return nil, err
	}
	report := o.ReportWriter
	if report == nil {
		report = io.Discard
	}
	r := route{pc: pc, o: o, report: &lockedWriter{w: report}}
	switch {
	case isDocker(src) && isLayout(dest):
		return r.pull(ctx, dest, src)
	case isLayout(src) && isDocker(dest):
		return r.push(ctx, dest, src)
	}
	return nil, notApplicable("%s: to %s: is not between a registry and a layout", src.Transport().Name(), dest.Transport().Name())
}

// route is one direct copy.
type route struct {
	pc     *signature.PolicyContext
	o      *copy.Options
	report io.Writer // safe for the blob goroutines' lines
}

// lockedWriter serialises the report lines of blobs copied at once: the
// caller's writer need not be safe for concurrent use.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func isDocker(ref types.ImageReference) bool {
	return ref.Transport().Name() == docker.Transport.Name()
}

func isLayout(ref types.ImageReference) bool {
	_, ok := ref.(reference.Reference)
	return ok
}

// checkOptions refuses the options under which copy.Image would do more
// than move the image's bytes, or report what the direct route does not.
func checkOptions(o *copy.Options) error {
	switch {
	case o.SignBy != "" || o.SignBySigstorePrivateKeyFile != "" || len(o.Signers) > 0:
		return notApplicable("signing is asked for")
	case o.ForceManifestMIMEType != "":
		return notApplicable("a manifest type is asked for")
	case o.ImageListSelection == copy.CopySpecificImages:
		return notApplicable("instances of a list are selected")
	case o.OciEncryptConfig != nil || o.OciEncryptLayers != nil || o.OciDecryptConfig != nil:
		return notApplicable("encryption or decryption is asked for")
	case o.ForceCompressionFormat || len(o.EnsureCompressionVariantsExist) > 0:
		return notApplicable("a compression format is asked for")
	case o.Progress != nil:
		return notApplicable("progress is reported on a channel")
	case o.DestinationTimestamp != nil:
		return notApplicable("a destination timestamp is asked for")
	case o.ReportResolvedReference != nil:
		return notApplicable("the resolved reference is asked for")
	}
	if sys := o.DestinationCtx; sys != nil && (sys.CompressionFormat != nil || sys.CompressionLevel != nil || sys.DirForceCompress) {
		return notApplicable("compression is asked for")
	}
	return nil
}

// parallel is how many blobs may be in flight at once.
func (r *route) parallel(n int) int {
	if m := int(r.o.MaxParallelDownloads); m > 0 {
		return min(n, m)
	}
	return min(n, maxParallel)
}

// openSource opens the ImageSource of src that copy.Image would open, with
// the source SystemContext, and reads its top-level manifest.
func (r *route) openSource(ctx context.Context, src types.ImageReference) (types.ImageSource, []byte, string, error) {
	s, err := src.NewImageSource(ctx, r.o.SourceCtx)
	if err != nil {
		return nil, nil, "", fmt.Errorf("initializing source %s: %w", transportName(src), err)
	}
	m, mt, err := s.GetManifest(ctx, nil)
	if err != nil {
		s.Close()
		return nil, nil, "", fmt.Errorf("reading manifest of %s: %w", transportName(src), err)
	}
	return s, m, mt, nil
}

// blobKind names a blob in the report, as copy.Image does.
func blobKind(isConfig bool) string {
	if isConfig {
		return "config"
	}
	return "blob"
}
