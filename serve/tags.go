package serve

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
)

// page applies the spec's n and last parameters to sorted: the entries
// after last, at most n of them. next is true when more follow.
func page(r *http.Request, sorted []string) (out []string, n int, next bool, e *apiError) {
	q := r.URL.Query()
	start := 0
	if last := q.Get("last"); last != "" {
		start, _ = slices.BinarySearch(sorted, last)
		if start < len(sorted) && sorted[start] == last {
			start++
		}
	}
	out = sorted[start:]
	n = -1
	if ns := q.Get("n"); ns != "" {
		var err error
		n, err = strconv.Atoi(ns)
		if err != nil || n < 0 {
			return nil, 0, false, newError(http.StatusBadRequest, codeUnsupported, "invalid n="+ns)
		}
		if n < len(out) {
			out, next = out[:n], n > 0
		}
	}
	return out, n, next, nil
}

// writeList answers a paginated list with a Link header to the next page.
func writeList(w http.ResponseWriter, r *http.Request, v any, items []string, n int, next bool) {
	if next {
		u := url.URL{Path: r.URL.Path, RawQuery: url.Values{"n": {strconv.Itoa(n)}, "last": {items[len(items)-1]}}.Encode()}
		w.Header().Set("Link", "<"+u.String()+`>; rel="next"`)
	}
	data, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	if r.Method != http.MethodHead {
		_, _ = w.Write(data)
	}
}

// listTags answers GET /v2/<name>/tags/list, in lexical order.
func (s *server) listTags(w http.ResponseWriter, r *http.Request, repo, _ string) *apiError {
	snap, err := s.cache.get(r.Context())
	if err != nil {
		return internalError(err)
	}
	tags, ok := snap.tags[repo]
	if !ok {
		return newError(http.StatusNotFound, codeNameUnknown, "repository "+repo+" has no tags")
	}
	list, n, next, e := page(r, tags.sorted)
	if e != nil {
		return e
	}
	writeList(w, r, struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}{repo, append([]string{}, list...)}, list, n, next)
	return nil
}

// handleCatalog answers GET /v2/_catalog: the repositories with a tag.
func (s *server) handleCatalog(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, r, methodNotAllowed(r))
		return
	}
	snap, err := s.cache.get(r.Context())
	if err != nil {
		writeError(w, r, internalError(err))
		return
	}
	repos, n, next, e := page(r, snap.repos)
	if e != nil {
		writeError(w, r, e)
		return
	}
	writeList(w, r, struct {
		Repositories []string `json:"repositories"`
	}{append([]string{}, repos...)}, repos, n, next)
}
