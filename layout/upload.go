package layout

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Upload is a blob written in pieces over time, as a registry's chunked
// upload receives it: a temp file in the blob directory that Commit
// verifies and renames into place, exactly as PutBlob does with a single
// stream. Its name starts with the temp prefix, so a crashed server's
// uploads are reclaimed by GC; the caller must hold a WriteLease for as long
// as the Upload is open, or GC may remove the temp file under it. An Upload
// is not safe for concurrent use.
type Upload struct {
	l    *Layout
	root *os.Root
	f    *os.File
	tmp  string
	n    int64
	sha  hash.Hash // sha256 of what was written; other algorithms re-read at Commit
}

// NewUpload starts an empty upload.
func (l *Layout) NewUpload(ctx context.Context) (*Upload, error) {
	if err := checkContext(ctx); err != nil {
		return nil, err
	}
	root, err := l.blobRoot()
	if err != nil {
		return nil, err
	}
	f, tmp, err := createTemp(root, ".")
	if err != nil {
		return nil, err
	}
	return &Upload{l: l, root: root, f: f, tmp: tmp, sha: sha256.New()}, nil
}

// Size is the number of bytes written so far.
func (u *Upload) Size() int64 { return u.n }

// Write appends p.
func (u *Upload) Write(p []byte) (int, error) {
	n, err := u.f.Write(p)
	u.sha.Write(p[:n])
	u.n += int64(n)
	if err != nil {
		return n, fmt.Errorf("writing upload %s in %s: %w", u.tmp, u.l.dir, err)
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
		return &IntegrityError{Digest: want, Dir: u.l.dir, Problem: fmt.Sprintf("upload has %d bytes, expected %d", u.n, size)}
	}
	got := digest.NewDigest(digest.SHA256, u.sha)
	if want.Algorithm() != digest.SHA256 {
		if err := verifyFile(ctx, u.root, u.tmp, want, u.n, u.l.dir); err != nil {
			return err
		}
		got = want
	}
	if got != want {
		return &IntegrityError{Digest: want, Dir: u.l.dir, Problem: "upload has digest " + got.String()}
	}
	p, _ := blobPath(want)
	if err := u.root.MkdirAll(want.Algorithm().String(), 0o755); err != nil {
		return fmt.Errorf("creating blob directory in %s: %w", u.l.dir, err)
	}
	if verifyFile(ctx, u.root, p, want, u.n, u.l.dir) == nil {
		return u.Abort()
	}
	if err := u.f.Chmod(0o444); err != nil {
		return fmt.Errorf("chmod of %s: %w", u.tmp, err)
	}
	f := u.f
	u.f = nil
	return commitTemp(u.root, f, u.tmp, p)
}

// Abort removes the upload. It is safe to call more than once.
func (u *Upload) Abort() error {
	if u.f == nil {
		return nil
	}
	u.f.Close()
	u.f = nil
	if err := u.root.Remove(u.tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing upload %s in %s: %w", u.tmp, u.l.dir, err)
	}
	return nil
}

// IndexVersion identifies one version of index.json: writers replace the
// file by rename, so every write makes a new inode (and ctime), and a
// reader that remembers the version it parsed knows without reading
// whether the file changed.
type IndexVersion struct {
	Dev, Ino     uint64
	Size         int64
	Mtime, Ctime time.Time
}

// IndexVersion stats index.json.
func (l *Layout) IndexVersion() (IndexVersion, error) {
	fi, err := l.root.Stat(imgspecv1.ImageIndexFile)
	if err != nil {
		return IndexVersion{}, fmt.Errorf("stat of index.json of %s: %w", l.dir, err)
	}
	v := IndexVersion{Size: fi.Size(), Mtime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		v.Dev, v.Ino = uint64(st.Dev), st.Ino
		v.Ctime = time.Unix(st.Ctim.Sec, st.Ctim.Nsec)
	}
	return v, nil
}

var _ io.Writer = (*Upload)(nil)
