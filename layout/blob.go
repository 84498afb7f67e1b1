package layout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"

	"github.com/opencontainers/go-digest"
)

// MaxManifestSize bounds manifests, indexes and configs read into memory,
// so a hostile layout cannot make a reader allocate without limit. It is
// containers/image's own limit for manifests (iolimits.MaxManifestBodySize).
const MaxManifestSize = 4 << 20

// blobPath returns ALG/HEX for d after checking that d is well formed,
// which is what keeps "../" and other path tricks in a descriptor from ever
// reaching the file system (os.Root is the second line of defence).
func blobPath(d digest.Digest) (string, error) {
	if err := d.Validate(); err != nil {
		return "", fmt.Errorf("invalid blob digest %q: %w", string(d), err)
	}
	return path.Join(d.Algorithm().String(), d.Encoded()), nil
}

// BlobPath returns the path of blob d relative to the layout directory
// (or to the shared blob directory), for messages and for tools that link
// blobs between layouts.
func (l *Layout) BlobPath(d digest.Digest) (string, error) {
	p, err := blobPath(d)
	if err != nil {
		return "", err
	}
	if l.shared {
		return p, nil
	}
	return path.Join("blobs", p), nil
}

// StatBlob returns the size of blob d; the error wraps fs.ErrNotExist when
// it is absent.
func (l *Layout) StatBlob(ctx context.Context, d digest.Digest) (int64, error) {
	f, err := l.OpenBlob(ctx, d)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("stat of blob %s in %s: %w", d, l.dir, err)
	}
	return fi.Size(), nil
}

// OpenBlob opens blob d for reading, without verification. Only regular
// files are blobs: a directory or device in blobs/ is refused.
func (l *Layout) OpenBlob(ctx context.Context, d digest.Digest) (*os.File, error) {
	if err := checkContext(ctx); err != nil {
		return nil, err
	}
	p, err := blobPath(d)
	if err != nil {
		return nil, err
	}
	root, err := l.blobRoot()
	if err != nil {
		return nil, err
	}
	return l.openBlobFile(root, p, d)
}

// openBlobFile opens name in root as blob d: it must be a regular file.
func (l *Layout) openBlobFile(root *os.Root, name string, d digest.Digest) (*os.File, error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, fmt.Errorf("opening blob %s in %s: %w", d, l.dir, err)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = errors.New("not a regular file")
		}
		return nil, fmt.Errorf("opening blob %s in %s: %w", d, l.dir, err)
	}
	return f, nil
}

// ReadBlob reads blob d whole (at most MaxManifestSize bytes) and verifies
// it against d, and against size unless size is -1. It is how manifests,
// indexes and configs are read: never trusted unverified.
func (l *Layout) ReadBlob(ctx context.Context, d digest.Digest, size int64) ([]byte, error) {
	f, err := l.OpenBlob(ctx, d)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if size > MaxManifestSize {
		return nil, fmt.Errorf("blob %s in %s: size %d exceeds the %d-byte limit for manifests and configs", d, l.dir, size, MaxManifestSize)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading blob %s in %s: %w", d, l.dir, err)
	}
	if len(data) > MaxManifestSize {
		return nil, fmt.Errorf("blob %s in %s exceeds the %d-byte limit for manifests and configs", d, l.dir, MaxManifestSize)
	}
	if size >= 0 && int64(len(data)) != size {
		return nil, &IntegrityError{Digest: d, Dir: l.dir, Problem: fmt.Sprintf("size %d, descriptor says %d", len(data), size)}
	}
	if got := d.Algorithm().FromBytes(data); got != d {
		return nil, &IntegrityError{Digest: d, Dir: l.dir, Problem: "content has digest " + got.String()}
	}
	return data, nil
}

// IntegrityError reports a blob whose content does not match its digest or
// descriptor size: a corrupted or tampered layout.
type IntegrityError struct {
	Digest  digest.Digest
	Dir     string
	Problem string
}

func (e *IntegrityError) Error() string {
	return fmt.Sprintf("blob %s in %s is corrupt: %s", e.Digest, e.Dir, e.Problem)
}

// VerifyingReader wraps r, the content of blob d, and fails the read that
// reaches EOF (or passes size) if the bytes do not match d and size (-1:
// size unknown). A consumer that reads to EOF therefore never accepts bad
// data silently. With hashing off only the size is checked, for callers
// that hash the stream themselves (copy.Image does).
func VerifyingReader(r io.ReadCloser, d digest.Digest, size int64, hashing bool, dir string) io.ReadCloser {
	v := &verifyingReader{r: r, digest: d, size: size, dir: dir}
	if hashing {
		v.hash = d.Algorithm().Hash()
	}
	return v
}

type verifyingReader struct {
	r      io.ReadCloser
	digest digest.Digest
	size   int64
	dir    string
	hash   hash.Hash
	n      int64
	err    error
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.r.Read(p)
	v.n += int64(n)
	if v.hash != nil {
		v.hash.Write(p[:n])
	}
	if v.size >= 0 && v.n > v.size {
		v.err = &IntegrityError{Digest: v.digest, Dir: v.dir, Problem: fmt.Sprintf("longer than its size %d", v.size)}
		return n, v.err
	}
	if err == io.EOF {
		switch {
		case v.size >= 0 && v.n != v.size:
			v.err = &IntegrityError{Digest: v.digest, Dir: v.dir, Problem: fmt.Sprintf("truncated: %d of %d bytes", v.n, v.size)}
		case v.hash != nil && digest.NewDigest(v.digest.Algorithm(), v.hash) != v.digest:
			v.err = &IntegrityError{Digest: v.digest, Dir: v.dir, Problem: "content has digest " + digest.NewDigest(v.digest.Algorithm(), v.hash).String()}
		default:
			v.err = io.EOF
		}
		return n, v.err
	}
	return n, err
}

func (v *verifyingReader) Close() error { return v.r.Close() }

// PutBlob stores the content of r as a blob. want (may be "") and size (-1
// if unknown) are what the caller expects; a mismatch fails and stores
// nothing. The content is hashed while it is written to a temp file in the
// blob directory, which is then synced and renamed into place, so no reader
// ever sees a partial blob under a digest.
func (l *Layout) PutBlob(ctx context.Context, r io.Reader, want digest.Digest, size int64) (digest.Digest, int64, error) {
	return l.putBlob(ctx, r, want, size, true)
}

// PutVerifiedBlob is PutBlob for a caller that verifies the digest of r
// itself and makes r fail, rather than end, when it does not match, as
// copy.Image's digest check of every stream it sends does. The blob is
// stored under want without being hashed again (the size is still
// checked), which on a busy 2-core machine is a whole core's sha256 per
// byte saved. A caller that cannot promise this must use PutBlob: content
// that does not match want would be stored under it (verify reports it).
func (l *Layout) PutVerifiedBlob(ctx context.Context, r io.Reader, want digest.Digest, size int64) (digest.Digest, int64, error) {
	if want == "" {
		return "", 0, errors.New("PutVerifiedBlob needs the blob digest")
	}
	return l.putBlob(ctx, r, want, size, false)
}

func (l *Layout) putBlob(ctx context.Context, r io.Reader, want digest.Digest, size int64, hash bool) (digest.Digest, int64, error) {
	if err := checkContext(ctx); err != nil {
		return "", 0, err
	}
	alg := digest.Canonical
	if want != "" {
		if err := want.Validate(); err != nil {
			return "", 0, fmt.Errorf("invalid blob digest %q: %w", string(want), err)
		}
		alg = want.Algorithm()
	}
	root, err := l.blobRoot()
	if err != nil {
		return "", 0, err
	}
	if err := root.MkdirAll(alg.String(), 0o755); err != nil {
		return "", 0, fmt.Errorf("creating blob directory in %s: %w", l.dir, err)
	}
	f, tmp, err := createTemp(root, ".")
	if err != nil {
		return "", 0, err
	}
	committed := false
	defer func() {
		if !committed {
			f.Close()
			_ = root.Remove(tmp)
		}
	}()
	var in io.Reader = &contextReader{ctx: ctx, r: r}
	var digester digest.Digester
	if hash {
		digester = alg.Digester()
		in = io.TeeReader(in, digester.Hash())
	}
	n, err := io.Copy(f, in)
	if err != nil {
		return "", 0, fmt.Errorf("writing blob %s to %s: %w", want, l.dir, err)
	}
	got := want
	if hash {
		got = digester.Digest()
	}
	if size >= 0 && n != size {
		return "", 0, fmt.Errorf("writing blob %s to %s: size %d, expected %d", got, l.dir, n, size)
	}
	if want != "" && got != want {
		return "", 0, fmt.Errorf("writing blob to %s: content has digest %s, expected %s", l.dir, got, want)
	}
	// An intact blob already there (another writer's, or one hardlinked
	// from another layout) is kept, so its inode stays shared and readers
	// are undisturbed; one that rotted on disk is replaced by the content
	// just verified. Collisions are rare (copy.Image tries reuse first), so
	// hashing the existing file here costs little.
	p, _ := blobPath(got)
	if verifyFile(ctx, root, p, got, n, l.dir) == nil {
		return got, n, nil
	}
	if err := f.Chmod(0o444); err != nil {
		return "", 0, fmt.Errorf("chmod of %s: %w", tmp, err)
	}
	committed = true
	if err := commitTemp(root, f, tmp, p); err != nil {
		return "", 0, err
	}
	return got, n, nil
}

// verifyFile hashes name in root and checks it against d and size (-1:
// any size); the error is an *IntegrityError when the content is wrong.
func verifyFile(ctx context.Context, root *os.Root, name string, d digest.Digest, size int64, dir string) error {
	f, err := root.Open(name)
	if err != nil {
		return fmt.Errorf("opening %s to verify blob %s: %w", name, d, err)
	}
	defer f.Close()
	_, err = io.Copy(io.Discard, VerifyingReader(io.NopCloser(&contextReader{ctx: ctx, r: f}), d, size, true, dir))
	return err
}

// PutBlobBytes stores data as a blob and returns its digest.
func (l *Layout) PutBlobBytes(ctx context.Context, data []byte) (digest.Digest, error) {
	d, _, err := l.PutBlob(ctx, bytes.NewReader(data), digest.FromBytes(data), int64(len(data)))
	return d, err
}

// contextReader makes a long blob write stop when ctx is cancelled.
type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *contextReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
