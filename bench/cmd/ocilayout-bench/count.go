package main

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"sync"
)

// countRequests counts the requests h serves, by method and kind
// ("HEAD manifest", "GET blob", "GET tags", "GET ping", "PUT upload"...),
// so that a benchmark can say how many requests each tool made: the
// registry's handler is the one place that sees every request, whatever
// the client. GET /ocilayout-bench/requests returns the counts as JSON
// ({"GET blob": 3, ..., "total": 9}); POST /ocilayout-bench/requests/reset
// zeroes them. Neither is counted.
func countRequests(h http.Handler) http.Handler {
	var mu sync.Mutex
	counts := map[string]int{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ocilayout-bench/requests":
			mu.Lock()
			out := map[string]int{"total": 0}
			for k, v := range counts {
				out[k] = v
				out["total"] += v
			}
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(out)
			return
		case "/ocilayout-bench/requests/reset":
			mu.Lock()
			clear(counts)
			mu.Unlock()
			return
		}
		k := r.Method + " " + requestKind(r.URL.Path)
		mu.Lock()
		counts[k]++
		mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// requestKind names what a distribution API path addresses.
func requestKind(path string) string {
	switch {
	case path == "/v2/" || path == "/v2":
		return "ping"
	case strings.Contains(path, "/blobs/uploads"):
		return "upload"
	case strings.Contains(path, "/manifests/"):
		return "manifest"
	case strings.Contains(path, "/blobs/"):
		return "blob"
	case strings.HasSuffix(path, "/tags/list"):
		return "tags"
	case strings.Contains(path, "/referrers/"):
		return "referrers"
	case path == "/v2/_catalog":
		return "catalog"
	}
	return "other"
}

// sortedKeys is the keys of m in order (for stable output).
func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
