package serve

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"syscall"

	"github.com/opencontainers/go-digest"
)

// Verified blobs only. A blob is served only once its content has been
// checked against its digest, and the check is remembered by the file's
// identity (device, inode, size, mtime, ctime): blobs are written once and
// replaced by rename, so a new identity is a new file, and any write to
// the old one (which mode 0444 makes unlikely) changes its ctime, which
// no user can set back. Remembering is what lets a verified blob be sent
// by sendfile through http.ServeContent, with Range, at disk speed.
//
// The first full GET of a blob hashes while it streams, and holds back its
// last byte until the digest is known: on a mismatch the connection is
// aborted, so the client sees a short body (Content-Length is set) and
// never a complete wrong one; nothing is read twice. A HEAD or a Range
// request of a blob not yet verified hashes the whole file first. The
// size is checked on every serve: the stream must end exactly at the size
// the file had when it was opened.
type verifiedBlobs struct {
	mu sync.Mutex
	m  map[blobKey]struct{} // bounded by maxVerified; cleared when full
}

type blobKey struct {
	d                  digest.Digest
	dev, ino           uint64
	size, mtime, ctime int64
}

const maxVerified = 1 << 17

func newVerifiedBlobs() *verifiedBlobs { return &verifiedBlobs{m: map[blobKey]struct{}{}} }

func (v *verifiedBlobs) has(k blobKey) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	_, ok := v.m[k]
	return ok
}

func (v *verifiedBlobs) add(k blobKey) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.m) >= maxVerified {
		clear(v.m)
	}
	v.m[k] = struct{}{}
}

func keyOf(d digest.Digest, fi os.FileInfo) blobKey {
	k := blobKey{d: d, size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		k.dev, k.ino, k.ctime = uint64(st.Dev), st.Ino, st.Ctim.Nano()
	}
	return k
}

// openVerified opens blob d and says whether it is known to be intact.
func (s *server) openVerified(r *http.Request, d digest.Digest) (*os.File, os.FileInfo, blobKey, bool, *apiError) {
	f, err := s.s.openBlob(r.Context(), d)
	if err != nil {
		return nil, nil, blobKey{}, false, blobError(codeBlobUnknown, d, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, blobKey{}, false, internalError(fmt.Errorf("stat of blob %s: %w", d, err))
	}
	k := keyOf(d, fi)
	return f, fi, k, s.verified.has(k), nil
}

// verifyFile hashes all of f and remembers it when it matches.
func (s *server) verifyFile(f *os.File, k blobKey) error {
	h := k.d.Algorithm().Hash()
	n, err := io.Copy(h, io.NewSectionReader(f, 0, k.size+1))
	if err != nil {
		return fmt.Errorf("reading blob %s: %w", k.d, err)
	}
	if n != k.size {
		return fmt.Errorf("blob %s in %s is corrupt: changed size while read (%d, then %d bytes)", k.d, s.s.dir(), k.size, n)
	}
	if got := digest.NewDigest(k.d.Algorithm(), h); got != k.d {
		return fmt.Errorf("blob %s in %s is corrupt: content has digest %s", k.d, s.s.dir(), got)
	}
	s.verified.add(k)
	return nil
}

// haveBlob reports whether blob d is in the layout, intact, with size
// (-1: any).
func (s *server) haveBlob(r *http.Request, d digest.Digest, size int64) bool {
	f, fi, k, ok, e := s.openVerified(r, d)
	if e != nil {
		return false
	}
	defer f.Close()
	if size >= 0 && fi.Size() != size {
		return false
	}
	return ok || s.verifyFile(f, k) == nil
}

// getBlob answers GET and HEAD of a blob.
func (s *server) getBlob(w http.ResponseWriter, r *http.Request, repo, ref string) *apiError {
	d, e := parseDigest(ref)
	if e != nil {
		return e
	}
	f, fi, k, ok, e := s.openVerified(r, d)
	if e != nil {
		return e
	}
	defer f.Close()
	h := w.Header()
	h.Set("Docker-Content-Digest", d.String())
	h.Set("ETag", `"`+d.String()+`"`)
	h.Set("Content-Type", "application/octet-stream")
	if !ok && r.Method == http.MethodGet && r.Header.Get("Range") == "" {
		s.streamVerifying(w, f, k)
		return nil
	}
	if !ok {
		if err := s.verifyFile(f, k); err != nil {
			return newError(http.StatusNotFound, codeBlobUnknown, err.Error())
		}
	}
	http.ServeContent(w, r, "", fi.ModTime(), f)
	return nil
}

// streamVerifying sends f whole while hashing it, holding back the last
// byte until the digest matches (see verifiedBlobs).
func (s *server) streamVerifying(w http.ResponseWriter, f *os.File, k blobKey) {
	w.Header().Set("Content-Length", strconv.FormatInt(k.size, 10))
	w.WriteHeader(http.StatusOK)
	h := k.d.Algorithm().Hash()
	buf := make([]byte, 256<<10)
	body := k.size - 1
	if k.size == 0 {
		body = 0
	}
	if _, err := io.CopyBuffer(io.MultiWriter(w, h), io.LimitReader(f, body), buf); err != nil {
		panic(http.ErrAbortHandler)
	}
	var last []byte
	if k.size > 0 {
		n, err := io.ReadFull(f, buf[:1])
		if err != nil || n != 1 {
			panic(http.ErrAbortHandler)
		}
		last = buf[:1]
		h.Write(last)
	}
	if n, _ := f.Read(buf[1:2]); n != 0 { // longer than when opened
		panic(http.ErrAbortHandler)
	}
	if digest.NewDigest(k.d.Algorithm(), h) != k.d {
		// Abort: the client has Content-Length bytes minus one and
		// knows the body is short. The reason goes to the server log.
		s.logf("aborted GET of blob %s in %s: it is corrupt (content has digest %s)", k.d, s.s.dir(), digest.NewDigest(k.d.Algorithm(), h))
		panic(http.ErrAbortHandler)
	}
	s.verified.add(k)
	_, _ = w.Write(last)
}

// deleteBlob refuses: a blob under a live manifest must not go, and what
// no manifest references is gc's to reclaim.
func (s *server) deleteBlob(w http.ResponseWriter, r *http.Request, repo, ref string) *apiError {
	return newError(http.StatusMethodNotAllowed, codeUnsupported, "blobs are removed by `ocilayout gc` once no manifest references them")
}
