package blobstore

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/ocilayout/ocilayout/layout/internal/atomicfile"
	"github.com/opencontainers/go-digest"
)

// Upload is a blob written in pieces over time, as a registry's chunked
// upload receives it: a temp file in the blob directory that Commit
// verifies and renames into place, exactly as PutBlob does with a single
// stream. Its name starts with the temp prefix, so a crashed server's
// uploads are reclaimed by GC; the caller must hold a WriteLease for as long
// as the Upload is open, or GC may remove the temp file under it. An Upload
// is not safe for concurrent use.
type Upload struct {
	s    *Store
	root *os.Root
	f    *os.File
	tmp  string
	n    int64
	sha  hash.Hash // sha256 of what was written; other algorithms re-read at Commit
}

// NewUpload starts an empty upload.
func (s *Store) NewUpload(ctx context.Context) (*Upload, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("starting an upload in %s: %w", s.dir, err)
	}
	root, err := s.rootOrErr()
	if err != nil {
		return nil, err
	}
	f, tmp, err := atomicfile.Create(root, ".")
	if err != nil {
		return nil, err
	}
	return &Upload{s: s, root: root, f: f, tmp: tmp, sha: sha256.New()}, nil
}

// Size is the number of bytes written so far.
func (u *Upload) Size() int64 { return u.n }

// Write appends p.
func (u *Upload) Write(p []byte) (int, error) {
	n, err := u.f.Write(p)
	u.sha.Write(p[:n])
	u.n += int64(n)
	if err != nil {
		return n, fmt.Errorf("writing upload %s in %s: %w", u.tmp, u.s.dir, err)
	}
	return n, nil
}

// Commit stores the upload as blob want, which must match its content
// (and size, unless size is -1); on a mismatch nothing is stored and the
// upload stays open, as a registry keeps a session whose final PUT named
// the wrong digest. An intact blob already there is kept. After a
// successful Commit the Upload is finished.
func (u *Upload) Commit(ctx context.Context, want digest.Digest, size int64) error {
	if err := want.Validate(); err != nil {
		return fmt.Errorf("invalid blob digest %q: %w", string(want), err)
	}
	if size >= 0 && size != u.n {
		return &IntegrityError{Digest: want, Dir: u.s.dir, Kind: KindSize, Problem: fmt.Sprintf("upload has %d bytes, expected %d", u.n, size)}
	}
	got := digest.NewDigest(digest.SHA256, u.sha)
	if want.Algorithm() != digest.SHA256 {
		if err := u.s.verifyFile(ctx, u.root, u.tmp, want, u.n); err != nil {
			return err
		}
		got = want
	}
	if got != want {
		return &IntegrityError{Digest: want, Dir: u.s.dir, Kind: KindDigest, Problem: "upload has digest " + got.String()}
	}
	p, _ := Path(want)
	if err := u.root.MkdirAll(want.Algorithm().String(), 0o755); err != nil {
		return fmt.Errorf("creating blob directory in %s: %w", u.s.dir, err)
	}
	if u.s.verifyFile(ctx, u.root, p, want, u.n) == nil {
		return u.Abort()
	}
	if err := u.f.Chmod(0o444); err != nil {
		return fmt.Errorf("chmod of %s: %w", u.tmp, err)
	}
	f := u.f
	u.f = nil
	return atomicfile.Commit(u.root, f, u.tmp, p)
}

// Abort removes the upload. It is safe to call more than once.
func (u *Upload) Abort() error {
	if u.f == nil {
		return nil
	}
	u.f.Close()
	u.f = nil
	if err := u.root.Remove(u.tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing upload %s in %s: %w", u.tmp, u.s.dir, err)
	}
	return nil
}

var _ io.Writer = (*Upload)(nil)
