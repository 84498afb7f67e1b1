package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/internal/layouttest"

	"github.com/ocilayout/ocilayout/layout"
	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// testImage is an image the engine wrote into a layout.
type testImage struct {
	manifest     imgspecv1.Descriptor
	manifestJSON []byte
	config       digest.Digest
	layer        digest.Digest
	layerData    []byte
}

// newLayout creates an empty layout in a temp dir.
func newLayout(t testing.TB) *layout.Layout {
	t.Helper()
	l, err := layout.Create(filepath.Join(t.TempDir(), "images"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// putImage stores a one-layer image whose content derives from seed, and
// records it under name ("" untagged), all through the engine.
func putImage(t testing.TB, l *layout.Layout, seed, name string) testImage {
	t.Helper()
	ctx := context.Background()
	layer := bytes.Repeat([]byte("layer "+seed+" "), 1000)
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"seed":"` + seed + `"}`)
	ld, err := layouttest.PutBytes(l, ctx, layer)
	if err != nil {
		t.Fatal(err)
	}
	cd, err := layouttest.PutBytes(l, ctx, config)
	if err != nil {
		t.Fatal(err)
	}
	m := imgspecv1.Manifest{
		Versioned: imgspec.Versioned{SchemaVersion: 2},
		MediaType: imgspecv1.MediaTypeImageManifest,
		Config:    imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageConfig, Digest: cd, Size: int64(len(config))},
		Layers:    []imgspecv1.Descriptor{{MediaType: imgspecv1.MediaTypeImageLayer, Digest: ld, Size: int64(len(layer))}},
	}
	data, _ := json.Marshal(m)
	md, err := layouttest.PutBytes(l, ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	desc := imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest, Digest: md, Size: int64(len(data))}
	if err := layouttest.Tag(l, ctx, desc, name); err != nil {
		t.Fatal(err)
	}
	return testImage{manifest: desc, manifestJSON: data, config: cd, layer: ld, layerData: layer}
}

// do sends one request to h and returns the recorded response.
func do(t testing.TB, h http.Handler, method, path string, body []byte, header ...string) *http.Response {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func readBody(t testing.TB, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// errorCode is the first spec error code of a response body.
func errorCode(body string) string {
	var e struct {
		Errors []struct{ Code string } `json:"errors"`
	}
	if json.Unmarshal([]byte(body), &e) != nil || len(e.Errors) == 0 {
		return ""
	}
	return e.Errors[0].Code
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func newTestServer(t testing.TB, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// readAllErr reads a body to its end and returns the error that ended it.
func readAllErr(resp *http.Response) ([]byte, error) { return io.ReadAll(resp.Body) }

func basic(user, pass string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(user, pass)
	return req.Header.Get("Authorization")
}
