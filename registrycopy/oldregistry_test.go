package registrycopy

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/internal/fixture"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/copy"
)

// TestPushToRegistryWithoutOCI: a registry that refuses OCI manifests (as
// old ones answer: 400 MANIFEST_INVALID) makes the direct push give way
// at its last step, and copy.Image, which converts to Docker schema 2 on
// that refusal, then pushes the image.
func TestPushToRegistryWithoutOCI(t *testing.T) {
	app := fixture.RegistryApp()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") && r.Header.Get("Content-Type") == imgspecv1.MediaTypeImageManifest {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid","detail":"OCI manifests are not supported"}]}`))
			return
		}
		app.ServeHTTP(w, r)
	}))
	defer srv.Close()
	e := newEnv(t)
	e.host = strings.TrimPrefix(srv.URL, "http://")
	pc := insecurePolicy(t)
	src := filepath.Join(t.TempDir(), "src")
	writeImage(t, src, "app", 1, 4096, imgspecv1.MediaTypeImageLayerGzip, 9)

	_, err := Copy(t.Context(), pc, e.dockerRef(t, "old/app:v1"), layoutRef(t, src, "app"), e.options(nil))
	if !errors.Is(err, ErrNotApplicable) || !strings.Contains(err.Error(), "refused the OCI manifest") {
		t.Fatalf("direct push to a registry without OCI: %v, want ErrNotApplicable", err)
	}
	if _, err := copy.Image(t.Context(), pc, e.dockerRef(t, "old/app:v1"), layoutRef(t, src, "app"), e.options(nil)); err != nil {
		t.Fatalf("copy.Image after the refusal: %v", err)
	}
	req, _ := http.NewRequest(http.MethodHead, srv.URL+"/v2/old/app/manifests/v1", nil)
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "application/vnd.docker.distribution.manifest.v2+json" {
		t.Errorf("old/app:v1: %s %q, want a Docker schema 2 manifest", resp.Status, ct)
	}
}
