package serve

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"

	"github.com/ocilayout/ocilayout/layout"
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/manifest"
)

// store is everything the server asks of the engine. Every call into
// package layout is in this file, behind these methods, so that an engine
// change touches one file of the server.
type store interface {
	// dir names the layout in messages.
	dir() string
	// indexVersion identifies the current index.json without reading it.
	indexVersion() (indexVersion, error)
	// entries reads index.json and calls fn with each entry's media
	// type, digest and size (d's only fields), ref.name and
	// annotationSubject, in order (layout.Layout.IndexEntries).
	entries(ctx context.Context, fn func(d imgspecv1.Descriptor, name, subject string)) error
	// readBlob reads a blob of at most maxManifestSize bytes, verified
	// against d and size (-1: any size).
	readBlob(ctx context.Context, d digest.Digest, size int64) ([]byte, error)
	// openBlob opens a blob file, unverified; the error wraps
	// fs.ErrNotExist when it is absent.
	openBlob(ctx context.Context, d digest.Digest) (*os.File, error)
	// putBlob stores r as blob d (hashed, atomic).
	putBlob(ctx context.Context, r io.Reader, d digest.Digest, size int64) error
	// newUpload starts a blob written over several requests.
	newUpload(ctx context.Context) (upload, error)
	// acquireWriteLease holds off gc until release is called.
	acquireWriteLease() (release func(), err error)
	// addManifest records desc under each of names (untagged when there
	// are none) in index.json, in one update.
	addManifest(ctx context.Context, desc imgspecv1.Descriptor, names []string) error
	// removeEntries drops the top-level entries for which drop is true,
	// under the index lock, and reports how many it dropped.
	removeEntries(ctx context.Context, drop func(imgspecv1.Descriptor) bool) (int, error)
}

// upload is a resumable blob upload (layout.Upload).
type upload interface {
	io.Writer
	Size() int64
	Commit(ctx context.Context, d digest.Digest, size int64) error
	Abort() error
}

// indexVersion is layout.IndexVersion, compared with ==.
type indexVersion = string

// maxManifestSize is the engine's bound on manifests read into memory
// (containers/image's iolimits.MaxManifestBodySize).
const maxManifestSize = 4 << 20

// Media types of the Docker formats, and the engine's referrer mark.
const (
	mediaTypeDockerManifest = manifest.DockerV2Schema2MediaType
	mediaTypeDockerList     = manifest.DockerV2ListMediaType
	annotationSubject       = layout.AnnotationSubject
)

// isIntegrityError reports whether err says a blob is corrupt.
func isIntegrityError(err error) bool {
	var ie *layout.IntegrityError
	return errors.As(err, &ie)
}

// isNotExist reports whether err says the blob or entry is absent.
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, layout.ErrNotFound)
}

// validName reports whether name may be an index.json ref.name.
func validName(name string) bool { return layout.ValidateName(name) == nil }

type layoutStore struct{ l *layout.Layout }

func (s layoutStore) dir() string { return s.l.Dir() }

func (s layoutStore) indexVersion() (indexVersion, error) { return s.l.IndexVersion() }

func (s layoutStore) entries(ctx context.Context, fn func(d imgspecv1.Descriptor, name, subject string)) error {
	return s.l.IndexEntries(ctx, fn)
}

func (s layoutStore) readBlob(ctx context.Context, d digest.Digest, size int64) ([]byte, error) {
	return s.l.ReadBlob(ctx, d, size)
}

func (s layoutStore) openBlob(ctx context.Context, d digest.Digest) (*os.File, error) {
	return s.l.OpenBlob(ctx, d)
}

func (s layoutStore) putBlob(ctx context.Context, r io.Reader, d digest.Digest, size int64) error {
	_, _, err := s.l.PutBlob(ctx, r, d, size)
	return err
}

func (s layoutStore) newUpload(ctx context.Context) (upload, error) { return s.l.NewUpload(ctx) }

func (s layoutStore) acquireWriteLease() (func(), error) {
	lease, err := s.l.AcquireWriteLease(context.Background()) // a push's lease outlives its request (see lease.go)
	if err != nil {
		return nil, err
	}
	return lease.Release, nil
}

func (s layoutStore) addManifest(ctx context.Context, desc imgspecv1.Descriptor, names []string) error {
	if len(names) == 0 {
		names = []string{""}
	}
	return s.l.Update(ctx, func(tx *layout.IndexTx) error {
		for _, n := range names {
			if err := tx.Tag(desc, n); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s layoutStore) removeEntries(ctx context.Context, drop func(imgspecv1.Descriptor) bool) (int, error) {
	n := 0
	err := s.l.Update(ctx, func(tx *layout.IndexTx) error {
		if n = tx.Remove(drop); n == 0 {
			return errNothingRemoved // leave index.json as it is
		}
		return nil
	})
	if errors.Is(err, errNothingRemoved) {
		return 0, nil
	}
	return n, err
}

var errNothingRemoved = errors.New("no entry matched")
