package serve

import (
	"net/http"
	"regexp"

	"github.com/opencontainers/go-digest"
)

// Routes of the distribution API. A repository name may contain slashes,
// so each route is a pattern over the whole path, tried in this order
// (uploads before blobs: "x/blobs/uploads/ID" is an upload of x).
var (
	routeManifest = regexp.MustCompile(`^/v2/(.+)/manifests/([^/]+)$`)
	routeUploads  = regexp.MustCompile(`^/v2/(.+)/blobs/uploads/?$`)
	routeUpload   = regexp.MustCompile(`^/v2/(.+)/blobs/uploads/([^/]+)$`)
	routeBlob     = regexp.MustCompile(`^/v2/(.+)/blobs/([^/]+)$`)
	routeTags     = regexp.MustCompile(`^/v2/(.+)/tags/list$`)
	routeRefs     = regexp.MustCompile(`^/v2/(.+)/referrers/([^/]+)$`)
)

func (s *server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/v2/{$}", s.handleBase)
	mux.HandleFunc("/v2/_catalog", s.handleCatalog)
	mux.HandleFunc("/v2/", s.dispatch)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, newError(http.StatusNotFound, codeUnsupported, "not an OCI distribution API path"))
	})
	return mux
}

// handleBase answers the version check, GET /v2/.
func (s *server) handleBase(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, r, methodNotAllowed(r))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", "2")
	if r.Method == http.MethodGet {
		_, _ = w.Write([]byte("{}"))
	}
}

// dispatch routes /v2/<name>/... requests by path and method.
func (s *server) dispatch(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	var h func(http.ResponseWriter, *http.Request, string, string) *apiError
	var m []string
	switch {
	case match(routeManifest, p, &m):
		h = s.methods(r, map[string]handler{"GET": s.getManifest, "HEAD": s.getManifest, "PUT": s.putManifest, "DELETE": s.deleteManifest})
	case match(routeUploads, p, &m):
		m = append(m, "")
		h = s.methods(r, map[string]handler{"POST": s.startUpload})
	case match(routeUpload, p, &m):
		h = s.methods(r, map[string]handler{"GET": s.uploadStatus, "PATCH": s.patchUpload, "PUT": s.finishUpload, "DELETE": s.cancelUpload})
	case match(routeBlob, p, &m):
		h = s.methods(r, map[string]handler{"GET": s.getBlob, "HEAD": s.getBlob, "DELETE": s.deleteBlob})
	case match(routeTags, p, &m):
		m = append(m, "")
		h = s.methods(r, map[string]handler{"GET": s.listTags, "HEAD": s.listTags})
	case match(routeRefs, p, &m):
		h = s.methods(r, map[string]handler{"GET": s.listReferrers, "HEAD": s.listReferrers})
	default:
		writeError(w, r, newError(http.StatusNotFound, codeNameUnknown, "no such API path: "+p))
		return
	}
	if h == nil {
		writeError(w, r, methodNotAllowed(r))
		return
	}
	if !validRepo(m[1]) {
		writeError(w, r, newError(http.StatusBadRequest, codeNameInvalid, "invalid repository name "+m[1]))
		return
	}
	if e := h(w, r, m[1], m[2]); e != nil {
		writeError(w, r, e)
	}
}

type handler = func(http.ResponseWriter, *http.Request, string, string) *apiError

// methods picks the handler of r's method; writes need WithPush.
func (s *server) methods(r *http.Request, hs map[string]handler) handler {
	h, ok := hs[r.Method]
	if !ok {
		return nil
	}
	if isWrite(r) && !s.push {
		return func(http.ResponseWriter, *http.Request, string, string) *apiError {
			return newError(http.StatusMethodNotAllowed, codeUnsupported, "this server is read-only (ocilayout serve without --allow-push)")
		}
	}
	return h
}

func match(re *regexp.Regexp, p string, m *[]string) bool {
	*m = re.FindStringSubmatch(p)
	return *m != nil
}

func methodNotAllowed(r *http.Request) *apiError {
	return newError(http.StatusMethodNotAllowed, codeUnsupported, r.Method+" is not supported here")
}

func isWrite(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return false
	}
	return true
}

// parseDigest checks a digest from a URL.
func parseDigest(s string) (digest.Digest, *apiError) {
	d, err := digest.Parse(s)
	if err != nil || !d.Algorithm().Available() {
		return "", newError(http.StatusBadRequest, codeDigestInvalid, "invalid digest "+s)
	}
	return d, nil
}
