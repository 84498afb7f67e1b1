package serve

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
)

// uploads are the open upload sessions. Each holds the engine's upload
// temp file and a hold on the server's write lease (see leases) from POST
// to the final PUT (or cancel, or idle timeout), so gc reclaims neither the
// partial blob nor, for the lease's grace period, the finished one.
// Sessions live in memory: a restarted server forgets them (clients start
// over), and gc reclaims their temp files.
type uploads struct {
	timeout time.Duration
	mu      sync.Mutex
	m       map[string]*session
}

// session is one upload; mu serialises its requests.
type session struct {
	mu      sync.Mutex
	repo    string
	up      upload
	release func()
	timer   *time.Timer
	done    bool
}

func newUploads(timeout time.Duration) *uploads {
	return &uploads{timeout: timeout, m: map[string]*session{}}
}

// start opens a session for repo.
func (s *server) startSession(r *http.Request, repo string) (string, *session, *apiError) {
	release, err := s.leases.acquire()
	if err != nil {
		return "", nil, internalError(err)
	}
	up, err := s.s.newUpload(r.Context())
	if err != nil {
		release()
		return "", nil, internalError(err)
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	ss := &session{repo: repo, up: up, release: release}
	u := s.uploads
	ss.timer = time.AfterFunc(u.timeout, func() { u.end(id, ss, true) })
	u.mu.Lock()
	u.m[id] = ss
	u.mu.Unlock()
	return id, ss, nil
}

// get finds and locks the session id of repo; the caller unlocks ss.mu.
func (u *uploads) get(id, repo string) (*session, *apiError) {
	u.mu.Lock()
	ss := u.m[id]
	u.mu.Unlock()
	if ss == nil || ss.repo != repo {
		return nil, newError(http.StatusNotFound, codeBlobUploadUnknown, "no upload "+id+" in "+repo)
	}
	ss.mu.Lock()
	if ss.done {
		ss.mu.Unlock()
		return nil, newError(http.StatusNotFound, codeBlobUploadUnknown, "upload "+id+" has ended")
	}
	ss.timer.Reset(u.timeout)
	return ss, nil
}

// with runs fn on the session id of repo, holding its lock.
func (u *uploads) with(id, repo string, fn func(*session) *apiError) *apiError {
	ss, e := u.get(id, repo)
	if e != nil {
		return e
	}
	defer ss.mu.Unlock()
	return fn(ss)
}

// end closes session id; abort removes its temp file. With lock, it takes
// ss.mu itself (the timer's call); otherwise the caller holds it.
func (u *uploads) end(id string, ss *session, lock bool) {
	if lock {
		ss.mu.Lock()
		defer ss.mu.Unlock()
	}
	if ss.done {
		return
	}
	ss.done = true
	ss.timer.Stop()
	_ = ss.up.Abort()
	ss.release()
	u.mu.Lock()
	delete(u.m, id)
	u.mu.Unlock()
}

// setUploadHeaders tells the client where the session is and what it has.
func setUploadHeaders(w http.ResponseWriter, repo, id string, size int64) {
	h := w.Header()
	h.Set("Location", "/v2/"+repo+"/blobs/uploads/"+id)
	h.Set("Docker-Upload-UUID", id)
	end := size - 1
	if end < 0 {
		end = 0
	}
	h.Set("Range", fmt.Sprintf("0-%d", end))
	h.Set("Content-Length", "0")
}

// startUpload answers POST /v2/<name>/blobs/uploads/: a cross-repository
// mount (?mount=, with or without from=: the layout's blobs are shared by
// all repositories, so any intact blob mounts), a monolithic upload
// (?digest=), or a new session.
func (s *server) startUpload(w http.ResponseWriter, r *http.Request, repo, _ string) *apiError {
	q := r.URL.Query()
	if m := q.Get("mount"); m != "" {
		d, e := parseDigest(m)
		if e == nil && s.haveBlob(r, d, -1) {
			blobCreated(w, repo, d)
			return nil
		}
	}
	if ds := q.Get("digest"); ds != "" {
		d, e := parseDigest(ds)
		if e != nil {
			return e
		}
		release, err := s.leases.acquire()
		if err != nil {
			return internalError(err)
		}
		defer release()
		if err := s.s.putBlob(r.Context(), r.Body, d, r.ContentLength); err != nil {
			return newError(http.StatusBadRequest, codeDigestInvalid, err.Error())
		}
		blobCreated(w, repo, d)
		return nil
	}
	id, _, e := s.startSession(r, repo)
	if e != nil {
		return e
	}
	setUploadHeaders(w, repo, id, 0)
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// uploadStatus answers GET of a session: how much it has.
func (s *server) uploadStatus(w http.ResponseWriter, r *http.Request, repo, id string) *apiError {
	return s.uploads.with(id, repo, func(ss *session) *apiError {
		setUploadHeaders(w, repo, id, ss.up.Size())
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// appendChunk adds the request body to the session. A Content-Range must
// start where the upload ends: chunks arrive in order.
func appendChunk(r *http.Request, ss *session) *apiError {
	if cr := r.Header.Get("Content-Range"); cr != "" {
		startS, _, ok := strings.Cut(strings.TrimPrefix(cr, "bytes "), "-")
		start, err := strconv.ParseInt(startS, 10, 64)
		if !ok || err != nil || start != ss.up.Size() {
			return newError(http.StatusRequestedRangeNotSatisfiable, codeRangeInvalid, fmt.Sprintf("Content-Range %s does not continue the upload at %d", cr, ss.up.Size()))
		}
	}
	if _, err := io.Copy(ss.up, r.Body); err != nil {
		return newError(http.StatusBadRequest, codeBlobUploadInvalid, "reading chunk: "+err.Error())
	}
	return nil
}

// patchUpload answers PATCH: a chunk (or the rest of a streamed upload).
func (s *server) patchUpload(w http.ResponseWriter, r *http.Request, repo, id string) *apiError {
	return s.uploads.with(id, repo, func(ss *session) *apiError {
		if e := appendChunk(r, ss); e != nil {
			return e
		}
		setUploadHeaders(w, repo, id, ss.up.Size())
		w.WriteHeader(http.StatusAccepted)
		return nil
	})
}

// finishUpload answers the final PUT ?digest=: the last chunk, if any,
// then the engine verifies the whole upload and renames it into place.
func (s *server) finishUpload(w http.ResponseWriter, r *http.Request, repo, id string) *apiError {
	return s.uploads.with(id, repo, func(ss *session) *apiError {
		d, e := parseDigest(r.URL.Query().Get("digest"))
		if e != nil {
			return e
		}
		if e := appendChunk(r, ss); e != nil {
			return e
		}
		if err := ss.up.Commit(r.Context(), d, -1); err != nil {
			if isIntegrityError(err) {
				return newError(http.StatusBadRequest, codeDigestInvalid, err.Error())
			}
			return internalError(err)
		}
		s.uploads.end(id, ss, false)
		blobCreated(w, repo, d)
		return nil
	})
}

// cancelUpload answers DELETE of a session.
func (s *server) cancelUpload(w http.ResponseWriter, r *http.Request, repo, id string) *apiError {
	return s.uploads.with(id, repo, func(ss *session) *apiError {
		s.uploads.end(id, ss, false)
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// blobCreated answers 201 for blob d, stored in the layout.
func blobCreated(w http.ResponseWriter, repo string, d digest.Digest) {
	h := w.Header()
	h.Set("Location", "/v2/"+repo+"/blobs/"+d.String())
	h.Set("Docker-Content-Digest", d.String())
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}
