package registrycopy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	dref "github.com/distribution/reference"
	"github.com/ocilayout/ocilayout/internal/registryclient"
	"github.com/ocilayout/ocilayout/layout"
	"github.com/ocilayout/ocilayout/reference"
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/pkg/blobinfocache"
	"go.podman.io/image/v5/types"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/errcode"
)

// pushableLayer says whether copy.Image would push a layer of this type
// as it is: to a registry it compresses what is not compressed, and the
// direct route only moves bytes. zstd is left to copy.Image too (its
// zstd:chunked variants carry annotations it may rewrite).
func pushableLayer(mediaType string) bool {
	return mediaType == imgspecv1.MediaTypeImageLayerGzip
}

// push copies a layout image to a registry. The manifest and the
// signatures are read through the layout's ImageSource, verified, as
// copy.Image reads them, and the policy is checked on it; the blobs are
// then sent from their files: one HEAD each (a blob the repository holds
// is not sent again), else an upload whose body is the blob's *os.File,
// which net/http hands to the socket with sendfile(2) on plain HTTP. The
// manifest is pushed last, under the destination's tag, once every blob
// it names is in the repository.
func (r *route) push(ctx context.Context, dest, src types.ImageReference) ([]byte, error) {
	named := dest.DockerReference()
	tagged, ok := named.(dref.NamedTagged)
	if !ok {
		return nil, notApplicable("destination %s has no tag", transportName(dest))
	}
	rawSrc, m, mt, err := r.openSource(ctx, src)
	if err != nil {
		return nil, err
	}
	defer rawSrc.Close()
	man, err := imageManifest(m, mt, pushableLayer)
	if err != nil {
		return nil, err
	}
	if err := r.admit(ctx, rawSrc); err != nil {
		return nil, err
	}
	// The source's read lease, held until it closes, keeps gc off the
	// blobs opened here from a second handle on the same layout.
	l, _, err := reference.OpenLayout(src, r.o.SourceCtx, "pushing directly")
	if err != nil {
		return nil, err
	}
	defer l.Close()
	repo, err := registryclient.Repository(ctx, named, r.o.DestinationCtx)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(r.report, "Copying directly to the registry (nothing to convert)\n")
	bic := newBICLocation(blobinfocache.DefaultCache(r.o.DestinationCtx), named)
	config := man.Config.Digest
	err = r.eachBlob(ctx, blobs(man), func(ctx context.Context, b imgspecv1.Descriptor, _ func()) error {
		return r.pushBlob(ctx, l, repo, bic, b, b.Digest == config)
	})
	bic.wait()
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(r.report, "Writing manifest to image destination\n")
	desc := imgspecv1.Descriptor{MediaType: mt, Digest: digest.FromBytes(m), Size: int64(len(m))}
	if err := repo.Manifests().PushReference(ctx, desc, bytes.NewReader(m), tagged.Tag()); err != nil {
		var resp *errcode.ErrorResponse
		if errors.As(err, &resp) && (resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnsupportedMediaType) {
			// A registry that refuses OCI manifests: copy.Image then
			// tries a Docker schema 2 conversion. The blobs just pushed
			// stay, as copy.Image's would, and it finds them there.
			return nil, notApplicable("the registry refused the OCI manifest (%v)", err)
		}
		return nil, fmt.Errorf("writing manifest to %s: %w", transportName(dest), err)
	}
	return m, nil
}

// pushBlob uploads blob b from l unless the repository holds it. Its size
// is checked here; its digest by the registry, which refuses an upload
// whose content does not hash to the digest it is pushed under. As
// copy.Image does, the blob info cache (shared with it) names other
// repositories of the registry that hold the blob: the upload then starts
// as a cross-repository mount, which the registry either grants (nothing
// sent) or turns into the upload session the blob is sent in.
func (r *route) pushBlob(ctx context.Context, l *layout.Layout, repo *remote.Repository, bic *bicLocation, b imgspecv1.Descriptor, isConfig bool) error {
	what := blobKind(isConfig)
	there, err := repo.Blobs().Exists(ctx, b)
	if err != nil {
		return fmt.Errorf("checking for blob %s in %s: %w", b.Digest, repo.Reference, err)
	}
	if there {
		fmt.Fprintf(r.report, "Copying %s %s skipped: already exists\n", what, b.Digest)
		return nil
	}
	fmt.Fprintf(r.report, "Copying %s %s\n", what, b.Digest)
	open := func() (io.ReadCloser, error) { return openSized(ctx, l, b) }
	if from := bic.mountFrom(b.Digest); from != "" {
		if err := repo.Mount(ctx, b, from, open); err == nil {
			bic.record(b.Digest)
			return nil
		}
		// A refused mount (no access to the other repository, say)
		// leaves the plain upload below.
	}
	f, err := open()
	if err != nil {
		return err
	}
	defer f.Close()
	if err := repo.Blobs().Push(ctx, b, f); err != nil {
		return fmt.Errorf("writing blob %s to %s: %w", b.Digest, repo.Reference, err)
	}
	bic.record(b.Digest)
	return nil
}

// openSized opens blob b of l, an *os.File (so that net/http can sendfile
// it), after checking its size against the manifest's.
func openSized(ctx context.Context, l *layout.Layout, b imgspecv1.Descriptor) (io.ReadCloser, error) {
	f, err := l.OpenBlob(ctx, b.Digest)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat of blob %s in %s: %w", b.Digest, l.Dir(), err)
	}
	if st.Size() != b.Size {
		f.Close()
		return nil, fmt.Errorf("blob %s in %s is corrupt: size %d, descriptor says %d", b.Digest, l.Dir(), st.Size(), b.Size)
	}
	return f, nil
}

// bicLocation is the destination repository in containers/image's blob
// info cache, as its docker transport records it (scope: the registry;
// location: the repository's name), so that copy.Image and the direct
// route learn from each other's pushes. The SQLite cache makes each
// record a transaction of about four fsyncs, about 15 ms: records are
// made by one goroutine beside the uploads (wait collects it), and only
// for blobs this push sent or mounted, not for those the registry already
// had (copy.Image records those too; that cost 0.17 s of a push that
// sends nothing).
type bicLocation struct {
	cache types.BlobInfoCache
	named dref.Named
	queue chan digest.Digest
	done  chan struct{}
}

func newBICLocation(cache types.BlobInfoCache, named dref.Named) *bicLocation {
	c := &bicLocation{cache: cache, named: named, queue: make(chan digest.Digest, 64), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for d := range c.queue {
			c.cache.RecordKnownLocation(docker.Transport, c.scope(), d, types.BICLocationReference{Opaque: c.named.Name()})
		}
	}()
	return c
}

func (c *bicLocation) scope() types.BICTransportScope {
	return types.BICTransportScope{Opaque: dref.Domain(c.named)}
}

// record queues the location of d; it may wait for the recorder when many
// are queued.
func (c *bicLocation) record(d digest.Digest) { c.queue <- d }

// wait ends the recording, once every blob has been pushed.
func (c *bicLocation) wait() {
	close(c.queue)
	<-c.done
}

// mountFrom is the path of another repository of this registry known to
// hold d, or "".
func (c *bicLocation) mountFrom(d digest.Digest) string {
	for _, cand := range c.cache.CandidateLocations(docker.Transport, c.scope(), d, false) {
		from, err := dref.ParseNormalizedNamed(cand.Location.Opaque)
		if err == nil && dref.Domain(from) == dref.Domain(c.named) && from.Name() != c.named.Name() {
			return dref.Path(from)
		}
	}
	return ""
}
