package layout

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path"

	"github.com/ocilayout/ocilayout/layout/internal/blobstore"
	"github.com/opencontainers/go-digest"
)

// IntegrityError reports a blob whose content does not match its digest
// (Kind "digest") or its descriptor's size (Kind "size"): a corrupted or
// tampered layout. Every verified read returns one, wrapped, so callers
// branch with errors.As.
type IntegrityError = blobstore.IntegrityError

// maxManifestSize bounds manifests, indexes and configs read into memory,
// so a hostile layout cannot make a reader allocate without limit. It is
// containers/image's own limit for manifests (iolimits.MaxManifestBodySize).
const maxManifestSize = blobstore.MaxManifestSize

// BlobOption tunes a blob read, put or link.
type BlobOption func(*blobOptions)

type blobOptions struct{ sizeOnly bool }

// SizeOnly checks a blob's size but does not hash it, for callers that
// hash the same bytes themselves and fail on a mismatch before using them,
// as copy.Image does with every stream of known digest: one sha256 per
// byte instead of two. For PutBlob it means content that does not match
// the digest given would be stored under it; for LinkBlob that the source
// layout is trusted as much as this one (see LinkBlob). Never pass it on
// behalf of a reader that does not hash.
func SizeOnly() BlobOption { return func(o *blobOptions) { o.sizeOnly = true } }

func blobOpts(opts []BlobOption) blobOptions {
	var o blobOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// blobPath returns the path of blob d relative to the layout directory (or
// to the shared blob directory), for messages and reports.
func (l *Layout) blobPath(d digest.Digest) (string, error) {
	p, err := blobstore.Path(d)
	if err != nil || l.shared {
		return p, err
	}
	return path.Join("blobs", p), nil
}

// OpenBlob opens blob d, a regular file, for reading. It does not verify
// the content: a caller that serves or trusts what it reads must check the
// size and digest (BlobReader does both while streaming).
func (l *Layout) OpenBlob(ctx context.Context, d digest.Digest) (*os.File, error) {
	return l.blobs.Open(ctx, d)
}

// BlobReader opens blob d as a stream that fails, at EOF at the latest,
// with an *IntegrityError if its size is not size (-1: any) or its bytes
// do not hash to d (unless SizeOnly). It returns the size on disk. A
// consumer that reads to EOF therefore never accepts bad data silently.
func (l *Layout) BlobReader(ctx context.Context, d digest.Digest, size int64, opts ...BlobOption) (io.ReadCloser, int64, error) {
	f, err := l.blobs.Open(ctx, d)
	if err != nil {
		return nil, -1, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, -1, fmt.Errorf("stat of blob %s in %s: %w", d, l.dir, err)
	}
	if size >= 0 && fi.Size() != size {
		f.Close()
		return nil, -1, &IntegrityError{Digest: d, Dir: l.dir, Kind: blobstore.KindSize, Problem: fmt.Sprintf("size %d, descriptor says %d", fi.Size(), size)}
	}
	return blobstore.VerifyingReader(f, d, fi.Size(), !blobOpts(opts).sizeOnly, l.dir), fi.Size(), nil
}

// ReadBlob reads blob d whole (at most 4 MiB: manifests, indexes and
// configs) and verifies it against d, and against size unless size is -1.
func (l *Layout) ReadBlob(ctx context.Context, d digest.Digest, size int64) ([]byte, error) {
	return l.blobs.Read(ctx, d, size)
}

// PutBlob stores the content of r as a blob. want (may be "") and size (-1
// if unknown) are what the caller expects; a mismatch fails and stores
// nothing. The content is hashed (unless SizeOnly, which needs want) while
// it is written to a temp file in the blob directory, which is then synced
// and renamed into place, so no reader ever sees a partial blob under a
// digest. An intact blob already there is kept; a rotten one is replaced.
// If r fails, or ctx is cancelled, PutBlob fails and stores nothing.
func (l *Layout) PutBlob(ctx context.Context, r io.Reader, want digest.Digest, size int64, opts ...BlobOption) (digest.Digest, int64, error) {
	return l.blobs.Put(ctx, r, want, size, !blobOpts(opts).sizeOnly)
}

// putBytes stores data as a blob and returns its digest.
func (l *Layout) putBytes(ctx context.Context, data []byte) (digest.Digest, error) {
	d, _, err := l.PutBlob(ctx, bytes.NewReader(data), digest.FromBytes(data), int64(len(data)))
	return d, err
}

// LinkBlob puts blob d of size size into this layout by linking it from
// fromDir, the blob directory (ALG/HEX inside, see BlobLocation) of
// another layout on the same file system: a reflink, else a hard link,
// else copy_file_range, always into a temp name renamed into place. The
// linked content is hashed before the rename, so a corrupt source blob
// never lands under d (the error is an *IntegrityError), unless SizeOnly:
// then the source layout is trusted, which makes reuse cost what metadata
// costs and is sound only when whoever can write the source is trusted as
// much as this layout. It returns how the blob was linked ("reflink",
// "hardlink", "copy_file_range"), or "" with no error when it cannot link
// (missing source, other size, other file system): stream it instead.
func (l *Layout) LinkBlob(ctx context.Context, fromDir string, d digest.Digest, size int64, opts ...BlobOption) (string, error) {
	m, err := l.blobs.Link(ctx, fromDir, d, size, !blobOpts(opts).sizeOnly)
	return string(m), err
}

// BlobLocation returns the absolute path of the directory holding this
// layout's blobs as ALG/HEX (blobs/ or the shared blob directory) and the
// device it is on: what another layout needs to LinkBlob from it, and what
// decides whether it can (links do not cross file systems).
func (l *Layout) BlobLocation() (string, uint64, error) { return l.blobs.Location() }

// NewUpload starts a blob written in pieces over time, as a registry's
// chunked upload receives it: a temp file in the blob directory that the
// upload's Commit verifies against the digest the client names and renames
// into place, as PutBlob does with one stream. The caller must hold a
// WriteLease for as long as the upload is open, or GC may reclaim the temp
// file under it. An upload is not safe for concurrent use.
func (l *Layout) NewUpload(ctx context.Context) (*blobstore.Upload, error) {
	return l.blobs.NewUpload(ctx)
}
