// Package blobstore is a layout's blob directory (ALG/HEX files, blobs/ or
// a shared blob directory) behind an os.Root: atomic puts, verified reads,
// links from other layouts. It knows nothing of index.json.
package blobstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"sync"

	"github.com/ocilayout/ocilayout/layout/internal/atomicfile"
	"github.com/ocilayout/ocilayout/layout/internal/regfile"

	"github.com/opencontainers/go-digest"
)

// MaxManifestSize bounds manifests, indexes and configs read into memory,
// so a hostile layout cannot make a reader allocate without limit. It is
// containers/image's own limit for manifests (iolimits.MaxManifestBodySize).
const MaxManifestSize = 4 << 20

// Path returns ALG/HEX for d after checking that d is well formed,
// which is what keeps "../" and other path tricks in a descriptor from ever
// reaching the file system (os.Root is the second line of defence).
func Path(d digest.Digest) (string, error) {
	if err := d.Validate(); err != nil {
		return "", fmt.Errorf("invalid blob digest %q: %w", string(d), err)
	}
	return path.Join(d.Algorithm().String(), d.Encoded()), nil
}

// Open opens blob d for reading, without verification. Only regular
// files are blobs: a directory or device in blobs/ is refused.
func (s *Store) Open(ctx context.Context, d digest.Digest) (*os.File, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("opening blob %s in %s: %w", d, s.dir, err)
	}
	p, err := Path(d)
	if err != nil {
		return nil, err
	}
	root, err := s.rootOrErr()
	if err != nil {
		return nil, err
	}
	return OpenRegular(root, p, d, s.dir)
}

// OpenRegular opens name in root as blob d of the layout dir: it must be
// a regular file (a FIFO or device is refused without blocking, see
// regfile).
func OpenRegular(root *os.Root, name string, d digest.Digest, dir string) (*os.File, error) {
	f, _, err := regfile.Open(root, name)
	if err != nil {
		return nil, fmt.Errorf("opening blob %s in %s: %w", d, dir, err)
	}
	return f, nil
}

// Read reads blob d whole (at most MaxManifestSize bytes) and verifies
// it against d, and against size unless size is -1. It is how manifests,
// indexes and configs are read: never trusted unverified.
func (s *Store) Read(ctx context.Context, d digest.Digest, size int64) ([]byte, error) {
	f, err := s.Open(ctx, d)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if size > MaxManifestSize {
		return nil, fmt.Errorf("blob %s in %s: size %d exceeds the %d-byte limit for manifests and configs", d, s.dir, size, MaxManifestSize)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading blob %s in %s: %w", d, s.dir, err)
	}
	if len(data) > MaxManifestSize {
		return nil, fmt.Errorf("blob %s in %s exceeds the %d-byte limit for manifests and configs", d, s.dir, MaxManifestSize)
	}
	if size >= 0 && int64(len(data)) != size {
		return nil, &IntegrityError{Digest: d, Dir: s.dir, Kind: KindSize, Problem: fmt.Sprintf("size %d, descriptor says %d", len(data), size)}
	}
	if got := d.Algorithm().FromBytes(data); got != d {
		return nil, &IntegrityError{Digest: d, Dir: s.dir, Kind: KindDigest, Problem: "content has digest " + got.String()}
	}
	return data, nil
}

// IntegrityError reports a blob whose content does not match its digest or
// descriptor size: a corrupted or tampered layout. Kind says which, so that
// callers branch with errors.As and a comparison, not on the message.
type IntegrityError struct {
	Digest  digest.Digest
	Dir     string
	Kind    string // KindSize or KindDigest
	Problem string // what was found, for the message
}

// The kinds of IntegrityError.
const (
	KindSize   = "size"   // the blob is shorter or longer than its descriptor says
	KindDigest = "digest" // the blob's bytes hash to another digest
)

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
		v.err = &IntegrityError{Digest: v.digest, Dir: v.dir, Kind: KindSize, Problem: fmt.Sprintf("longer than its size %d", v.size)}
		return n, v.err
	}
	if err == io.EOF {
		switch {
		case v.size >= 0 && v.n != v.size:
			v.err = &IntegrityError{Digest: v.digest, Dir: v.dir, Kind: KindSize, Problem: fmt.Sprintf("truncated: %d of %d bytes", v.n, v.size)}
		case v.hash != nil && digest.NewDigest(v.digest.Algorithm(), v.hash) != v.digest:
			v.err = &IntegrityError{Digest: v.digest, Dir: v.dir, Kind: KindDigest, Problem: "content has digest " + digest.NewDigest(v.digest.Algorithm(), v.hash).String()}
		default:
			v.err = io.EOF
		}
		return n, v.err
	}
	return n, err
}

func (v *verifyingReader) Close() error { return v.r.Close() }

// Put stores the content of r as a blob. want (may be "") and size (-1
// if unknown) are what the caller expects; a mismatch fails and stores
// nothing. The content is hashed while it is written to a temp file in the
// blob directory, which is then synced and renamed into place, so no reader
// ever sees a partial blob under a digest.
func (s *Store) Put(ctx context.Context, r io.Reader, want digest.Digest, size int64, hash bool) (digest.Digest, int64, error) {
	if err := ctx.Err(); err != nil {
		return "", 0, fmt.Errorf("writing blob %s to %s: %w", want, s.dir, err)
	}
	if !hash && want == "" {
		return "", 0, errors.New("storing a blob without hashing it (SizeOnly) needs the blob digest")
	}
	alg := digest.Canonical
	if want != "" {
		if err := want.Validate(); err != nil {
			return "", 0, fmt.Errorf("invalid blob digest %q: %w", string(want), err)
		}
		alg = want.Algorithm()
	}
	root, err := s.rootOrErr()
	if err != nil {
		return "", 0, err
	}
	if err := root.MkdirAll(alg.String(), 0o755); err != nil {
		return "", 0, fmt.Errorf("creating blob directory in %s: %w", s.dir, err)
	}
	f, tmp, err := atomicfile.Create(root, ".")
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
	buf := copyBuffers.Get().(*[]byte)
	n, err := io.CopyBuffer(atomicfile.NewWriteBehind(f), in, *buf)
	copyBuffers.Put(buf)
	if err != nil {
		return "", 0, fmt.Errorf("writing blob %s to %s: %w", want, s.dir, err)
	}
	got := want
	if hash {
		got = digester.Digest()
	}
	if size >= 0 && n != size {
		return "", 0, fmt.Errorf("writing blob %s to %s: size %d, expected %d", got, s.dir, n, size)
	}
	if want != "" && got != want {
		return "", 0, fmt.Errorf("writing blob to %s: content has digest %s, expected %s", s.dir, got, want)
	}
	// An intact blob already there (another writer's, or one hardlinked
	// from another layout) is kept, so its inode stays shared and readers
	// are undisturbed; one that rotted on disk is replaced by the content
	// just verified. Collisions are rare (copy.Image tries reuse first), so
	// hashing the existing file here costs little.
	p, _ := Path(got)
	if s.verifyFile(ctx, root, p, got, n) == nil {
		return got, n, nil
	}
	if err := f.Chmod(0o444); err != nil {
		return "", 0, fmt.Errorf("chmod of %s: %w", tmp, err)
	}
	committed = true
	if err := atomicfile.Commit(root, f, tmp, p); err != nil {
		return "", 0, err
	}
	return got, n, nil
}

// verifyFile hashes name in root and checks it against d and size (-1:
// any size); the error is an *IntegrityError when the content is wrong.
func (s *Store) verifyFile(ctx context.Context, root *os.Root, name string, d digest.Digest, size int64) error {
	f, _, err := regfile.Open(root, name)
	if err != nil {
		return fmt.Errorf("opening %s to verify blob %s: %w", name, d, err)
	}
	defer f.Close()
	_, err = io.Copy(io.Discard, VerifyingReader(io.NopCloser(&contextReader{ctx: ctx, r: f}), d, size, true, s.dir))
	return err
}

// ContextReader makes a long read of r stop when ctx is cancelled.
func ContextReader(ctx context.Context, r io.Reader) io.Reader { return &contextReader{ctx: ctx, r: r} }

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

// Store is one blob directory. Its methods are safe for concurrent use.
type Store struct {
	root *os.Root // nil when the directory does not exist (a layout opened for reading without blobs/)
	dir  string   // the layout, for messages
}

// New returns the store over root (nil: no blob directory yet) of the
// layout dir.
func New(root *os.Root, dir string) *Store { return &Store{root: root, dir: dir} }

// Root is the blob directory itself, for maintenance that walks or removes
// its files (gc, verify); nil when there is none.
func (s *Store) Root() *os.Root {
	if s == nil {
		return nil
	}
	return s.root
}

// rootOrErr returns the blob directory or a clear error when it is missing.
func (s *Store) rootOrErr() (*os.Root, error) {
	if s.root == nil {
		return nil, fmt.Errorf("layout %s has no blob directory: %w", s.dir, fs.ErrNotExist)
	}
	return s.root, nil
}

// randomSuffix is the random part of a temp file name.
func randomSuffix() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// copyBuffers hold the 1 MiB buffers blob writes copy through: io.Copy's
// 32 KiB meant 8,600 write(2) calls for a 256 MiB image, half the system
// time of a registry pull (strace -c).
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}
