package serve

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// page applies the spec's n and last parameters to sorted, whose keys
// are in order: the entries after last, at most n of them. next is true
// when more follow.
func page[T any](r *http.Request, sorted []T, key func(T) string) (out []T, n int, next bool, e *apiError) {
	q := r.URL.Query()
	start := 0
	if last := q.Get("last"); last != "" {
		var found bool
		start, found = slices.BinarySearchFunc(sorted, last, func(x T, last string) int { return strings.Compare(key(x), last) })
		if found {
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

// writeList answers a paginated list with a Link header to the next page,
// which starts after last.
func writeList(w http.ResponseWriter, r *http.Request, v any, last string, n int, next bool) {
	if next {
		u := url.URL{Path: r.URL.Path, RawQuery: url.Values{"n": {strconv.Itoa(n)}, "last": {last}}.Encode()}
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
	list, n, next, e := page(r, tags, func(t tagAt) string { return t.tag })
	if e != nil {
		return e
	}
	names := make([]string, len(list))
	for i, t := range list {
		names[i] = t.tag
	}
	writeList(w, r, struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}{repo, names}, lastOf(names), n, next)
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
	repos, n, next, e := page(r, snap.repos, func(r string) string { return r })
	if e != nil {
		writeError(w, r, e)
		return
	}
	writeList(w, r, struct {
		Repositories []string `json:"repositories"`
	}{append([]string{}, repos...)}, lastOf(repos), n, next)
}

// lastOf is the last of items, "" for none.
func lastOf(items []string) string {
	if len(items) == 0 {
		return ""
	}
	return items[len(items)-1]
}
