package serve

import (
	"io"
	"log"
	"net/http"
	"strconv"
	"time"

	"github.com/ocilayout/ocilayout/layout"
)

// Option configures New.
type Option func(*server)

// WithNames sets how ref.name annotations map to repositories and tags
// (see Names); the default serves bare tags under no repository.
func WithNames(n Names) Option { return func(s *server) { s.names = n } }

// WithPush accepts uploads, manifest pushes and deletes. Without it every
// write answers 405 UNSUPPORTED, and the layout is only read.
func WithPush() Option { return func(s *server) { s.push = true } }

// WithUsers requires HTTP basic authentication: readers may pull, writers
// may also push (when WithPush is given). Either may be nil.
func WithUsers(readers, writers *Htpasswd) Option {
	return func(s *server) { s.readers, s.writers = readers, writers }
}

// WithAccessLog writes one line per request to w.
func WithAccessLog(w io.Writer) Option {
	return func(s *server) { s.accessLog = log.New(w, "", 0) }
}

// WithUploadTimeout sets how long an upload session may stay idle before
// it is dropped (default 10 minutes). An open session holds a write lease,
// which keeps gc waiting, so abandoned ones must not live for ever; the
// lease outlives the last write by min(1 minute, this timeout), see leases.
func WithUploadTimeout(d time.Duration) Option { return func(s *server) { s.uploadTimeout = d } }

// server is the http.Handler New returns.
type server struct {
	s             store
	names         Names
	push          bool
	readers       *Htpasswd
	writers       *Htpasswd
	accessLog     *log.Logger
	uploadTimeout time.Duration

	cache    *indexCache
	verified *verifiedBlobs
	leases   *leases
	uploads  *uploads
	mux      *http.ServeMux
}

// New returns an http.Handler that serves the layout l over the OCI
// distribution API v1.1 (pull, referrers and, with WithPush, push and
// delete). The layout stays the only state: index.json is re-read when it
// changes, so other processes may copy into, delete from and gc the
// layout while it is served. l must stay open while the handler is used.
func New(l *layout.Layout, opts ...Option) http.Handler {
	return newServer(layoutStore{l}, opts...)
}

func newServer(st store, opts ...Option) *server {
	s := &server{s: st, uploadTimeout: 10 * time.Minute}
	for _, o := range opts {
		o(s)
	}
	s.cache = newIndexCache(st, s.names)
	s.verified = newVerifiedBlobs()
	s.leases = newLeases(st, s.uploadTimeout)
	s.uploads = newUploads(s.uploadTimeout)
	s.mux = s.routes()
	return s
}

// ServeHTTP authenticates, dispatches and logs one request.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	lw := &logWriter{ResponseWriter: w, status: http.StatusOK}
	user := "-"
	defer func() {
		// An aborted response (http.ErrAbortHandler) is logged too.
		if s.accessLog != nil {
			status := strconv.Itoa(lw.status)
			if p := recover(); p != nil {
				status += "-aborted"
				defer panic(p)
			}
			s.accessLog.Printf("%s %s [%s] %q %s %d %s", r.RemoteAddr, user, start.UTC().Format(time.RFC3339), r.Method+" "+r.URL.RequestURI()+" "+r.Proto, status, lw.bytes, time.Since(start).Round(time.Microsecond))
		}
	}()
	u, apiErr := s.authorize(r)
	if u != "" {
		user = u
	}
	if apiErr != nil {
		writeError(lw, r, apiErr)
		return
	}
	lw.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	s.mux.ServeHTTP(lw, r)
}

// logf reports a server-side problem (a corrupt blob) on the access log,
// or on the standard logger without one.
func (s *server) logf(format string, args ...any) {
	if s.accessLog != nil {
		s.accessLog.Printf(format, args...)
		return
	}
	log.Printf(format, args...)
}

// logWriter records status and size for the access log. It passes
// ReadFrom through, so http.ServeContent still sends blobs with sendfile.
type logWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
}

func (w *logWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.wrote = true
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func (w *logWriter) ReadFrom(r io.Reader) (int64, error) {
	w.wrote = true
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(w.ResponseWriter, r)
	}
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (w *logWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
