package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/ocilayout/ocilayout/internal/fixture"
	"github.com/ocilayout/ocilayout/mirror"
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/copy"
)

// syncRegistry is an in-memory distribution registry (deletes enabled) on
// loopback whose handler counts the requests of each kind, and how often
// each blob was served, so a test can tell exactly what a sync fetched.
type syncRegistry struct {
	host string

	mu       sync.Mutex
	counts   map[string]int        // "manifest HEAD", "manifest GET", "blob GET", "blob HEAD"
	blobGets map[digest.Digest]int // completed blob GETs by digest
	pings    int                   // GET /v2/ (a client's first request)
	// onBlobGet, when set, runs before each blob GET is served, with the
	// number of blob GETs so far; returning true fails the request
	// without serving it (and without counting it as served).
	onBlobGet func(n int) bool
}

var syncPathRE = regexp.MustCompile(`^/v2/(.+)/(manifests|blobs)/([^/]+)$`)

func startSyncRegistry(t *testing.T) *syncRegistry {
	t.Helper()
	app := fixture.Registry("ocilayout-sync", true)
	r := &syncRegistry{}
	r.reset()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/v2/" {
			r.mu.Lock()
			r.pings++
			r.mu.Unlock()
		}
		m := syncPathRE.FindStringSubmatch(req.URL.Path)
		if m == nil || strings.Contains(req.URL.Path, "/blobs/uploads") || (req.Method != http.MethodGet && req.Method != http.MethodHead) {
			app.ServeHTTP(w, req)
			return
		}
		kind := map[string]string{"manifests": "manifest", "blobs": "blob"}[m[2]] + " " + req.Method
		r.mu.Lock()
		r.counts[kind]++
		hook, n := r.onBlobGet, r.counts["blob GET"]
		r.mu.Unlock()
		if kind == "blob GET" && hook != nil && hook(n) {
			http.Error(w, "stopped by the test", http.StatusServiceUnavailable)
			return
		}
		app.ServeHTTP(w, req)
		if kind == "blob GET" {
			r.mu.Lock()
			r.blobGets[digest.Digest(m[3])]++
			r.mu.Unlock()
		}
	}))
	t.Cleanup(srv.Close)
	r.host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

// reset zeroes the counters.
func (r *syncRegistry) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts = map[string]int{}
	r.blobGets = map[digest.Digest]int{}
	r.pings = 0
}

// pingCount is how many GET /v2/ the registry answered since reset.
func (r *syncRegistry) pingCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pings
}

// snapshot returns copies of the counters.
func (r *syncRegistry) snapshot() (map[string]int, map[digest.Digest]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, b := map[string]int{}, map[digest.Digest]int{}
	for k, v := range r.counts {
		c[k] = v
	}
	for k, v := range r.blobGets {
		b[k] = v
	}
	return c, b
}

// syncImage is an image pushed to the registry: its manifest digest and
// every blob it is made of (config and layers).
type syncImage struct {
	digest digest.Digest
	blobs  []digest.Digest
}

// pushSyncImage builds a small two-layer image (a base layer every image
// shares, and one unique to tag and gen) in a scratch layout and pushes
// it to docker://HOST/repo:tag, keeping its digest.
func pushSyncImage(t *testing.T, r *syncRegistry, scratch, repo, tag string, gen int) syncImage {
	t.Helper()
	layers := []ioLayer{
		{files: map[string]string{"etc/os-release": "ID=sync\n"}},
		{files: map[string]string{"app/id": fmt.Sprintf("%s/%s generation %d\n", repo, tag, gen)}},
	}
	name := fmt.Sprintf("%s-%d", tag, gen)
	desc := ioWriteImage(t, scratch, name, "amd64", layers)
	ioCopy(t, "oci-layout:"+scratch+":"+name, "docker://"+r.host+"/"+repo+":"+tag, &copy.Options{PreserveDigests: true})
	raw, err := os.ReadFile(filepath.Join(scratch, "blobs", "sha256", desc.Digest.Encoded()))
	ioMust(t, err, "reading the manifest of %s", name)
	var man imgspecv1.Manifest
	ioMust(t, json.Unmarshal(raw, &man), "parsing the manifest of %s", name)
	img := syncImage{digest: desc.Digest, blobs: []digest.Digest{man.Config.Digest}}
	for _, l := range man.Layers {
		img.blobs = append(img.blobs, l.Digest)
	}
	return img
}

// pushSyncTags pushes tags t00, t01, ... to repo.
func pushSyncTags(t *testing.T, r *syncRegistry, repo string, n int) map[string]syncImage {
	t.Helper()
	scratch := filepath.Join(t.TempDir(), "scratch")
	out := map[string]syncImage{}
	for i := range n {
		tag := fmt.Sprintf("t%02d", i)
		out[tag] = pushSyncImage(t, r, scratch, repo, tag, 0)
	}
	return out
}

// registryDelete sends DELETE to the registry (a manifest or blob path
// under /v2/), failing the test unless it is accepted.
func (r *syncRegistry) registryDelete(t *testing.T, path string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodDelete, "http://"+r.host+"/v2/"+path, nil)
	ioMust(t, err, "making DELETE %s", path)
	resp, err := http.DefaultClient.Do(req)
	ioMust(t, err, "DELETE %s", path)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("DELETE %s: %s", path, resp.Status)
	}
}

// syncArgs are the flags every sync in these tests needs: any image is
// accepted, and the registry speaks plain HTTP.
var syncArgs = []string{"sync", "--insecure-policy", "--src-tls-verify=false", "--dest-tls-verify=false"}

// runSync runs ocilayout sync --json and returns its report, stderr and
// exit error.
func runSync(t *testing.T, args ...string) (*mirror.Report, string, error) {
	t.Helper()
	stdout, stderr, err := runCLI(t, append(append(append([]string{}, syncArgs...), "--json"), args...)...)
	var rep mirror.Report
	if jerr := json.Unmarshal([]byte(stdout), &rep); jerr != nil {
		t.Fatalf("ocilayout sync %s: no JSON report (%v)\nstdout: %s\nstderr: %s", strings.Join(args, " "), jerr, stdout, stderr)
	}
	return &rep, stderr, err
}

// mustSync is runSync that fails the test on a non-zero exit.
func mustSync(t *testing.T, args ...string) *mirror.Report {
	t.Helper()
	rep, stderr, err := runSync(t, args...)
	if err != nil {
		t.Fatalf("ocilayout sync %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr)
	}
	return rep
}

// actions maps each image's destination to its action.
func actions(rep *mirror.Report) map[string]mirror.Action {
	out := map[string]mirror.Action{}
	for _, r := range rep.Images {
		out[r.Destination] = r.Action
	}
	return out
}

// layoutBlobs lists the sha256 blobs stored in the layout at dir, read
// from the directory itself rather than through the code under test.
func layoutBlobs(t *testing.T, dir string) []digest.Digest {
	t.Helper()
	files, err := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	ioMust(t, err, "listing the blobs of %s", dir)
	var out []digest.Digest
	for _, f := range files {
		if d := digest.NewDigestFromEncoded(digest.SHA256, f.Name()); d.Validate() == nil {
			out = append(out, d)
		}
	}
	return out
}
