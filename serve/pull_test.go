package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ocilayout/ocilayout/internal/layouttest"
	"github.com/ocilayout/ocilayout/simplesign"

	"github.com/ocilayout/ocilayout/layout"
	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestPullAPI(t *testing.T) {
	l := newLayout(t)
	a := putImage(t, l, "a", "quay.io/ns/app:v1")
	b := putImage(t, l, "b", "v2")
	u := putImage(t, l, "u", "")
	idx := putIndex(t, l, "ns/app:multi", a.manifest, b.manifest)
	h := New(l, WithNames(Names{DefaultRepo: "images"}))

	type want struct {
		status      int
		code        string // spec error code, for errors
		contentType string
		digest      string // Docker-Content-Digest
		body        string // exact body, when set
		length      int    // Content-Length, when > 0
	}
	for _, tc := range []struct {
		name, method, path string
		header             []string
		want               want
	}{
		{"base", "GET", "/v2/", nil, want{status: 200, body: "{}"}},
		{"manifest by tag, host stripped", "GET", "/v2/ns/app/manifests/v1", nil, want{status: 200, contentType: imgspecv1.MediaTypeImageManifest, digest: a.manifest.Digest.String(), body: string(a.manifestJSON)}},
		{"manifest HEAD by tag", "HEAD", "/v2/ns/app/manifests/v1", nil, want{status: 200, contentType: imgspecv1.MediaTypeImageManifest, digest: a.manifest.Digest.String(), length: len(a.manifestJSON), body: ""}},
		{"bare tag in the default repository", "GET", "/v2/images/manifests/v2", nil, want{status: 200, digest: b.manifest.Digest.String(), body: string(b.manifestJSON)}},
		{"index by tag", "GET", "/v2/ns/app/manifests/multi", nil, want{status: 200, contentType: imgspecv1.MediaTypeImageIndex, digest: idx.String()}},
		{"manifest by digest in any repository", "GET", "/v2/other/repo/manifests/" + a.manifest.Digest.String(), nil, want{status: 200, digest: a.manifest.Digest.String(), body: string(a.manifestJSON)}},
		{"untagged entry by digest", "HEAD", "/v2/images/manifests/" + u.manifest.Digest.String(), nil, want{status: 200, digest: u.manifest.Digest.String()}},
		{"unknown tag", "GET", "/v2/ns/app/manifests/nope", nil, want{status: 404, code: codeManifestUnknown}},
		{"unknown repository", "GET", "/v2/nope/manifests/v1", nil, want{status: 404, code: codeNameUnknown}},
		{"unknown digest", "GET", "/v2/ns/app/manifests/" + digest.FromString("x").String(), nil, want{status: 404, code: codeManifestUnknown}},
		{"a layer is not a manifest", "GET", "/v2/ns/app/manifests/" + a.layer.String(), nil, want{status: 404, code: codeManifestUnknown}},
		{"bad digest", "GET", "/v2/ns/app/manifests/sha256:baddigest", nil, want{status: 400, code: codeDigestInvalid}},
		{"bad repository name", "GET", "/v2/Ns/App/manifests/v1", nil, want{status: 400, code: codeNameInvalid}},
		{"blob", "GET", "/v2/ns/app/blobs/" + a.layer.String(), nil, want{status: 200, digest: a.layer.String(), body: string(a.layerData)}},
		{"blob HEAD", "HEAD", "/v2/ns/app/blobs/" + a.layer.String(), nil, want{status: 200, digest: a.layer.String(), length: len(a.layerData), body: ""}},
		{"blob range", "GET", "/v2/ns/app/blobs/" + a.layer.String(), []string{"Range", "bytes=10-19"}, want{status: 206, body: string(a.layerData[10:20])}},
		{"unknown blob", "GET", "/v2/ns/app/blobs/" + digest.FromString("x").String(), nil, want{status: 404, code: codeBlobUnknown}},
		{"bad blob digest", "HEAD", "/v2/ns/app/blobs/md5:abc", nil, want{status: 400}},
		{"tags", "GET", "/v2/ns/app/tags/list", nil, want{status: 200, body: `{"name":"ns/app","tags":["multi","v1"]}`}},
		{"tags of unknown repository", "GET", "/v2/nope/tags/list", nil, want{status: 404, code: codeNameUnknown}},
		{"catalog", "GET", "/v2/_catalog", nil, want{status: 200, body: `{"repositories":["images","ns/app"]}`}},
		{"push refused when read-only", "POST", "/v2/ns/app/blobs/uploads/", nil, want{status: 405, code: codeUnsupported}},
		{"delete refused when read-only", "DELETE", "/v2/ns/app/manifests/v1", nil, want{status: 405, code: codeUnsupported}},
		{"not the API", "GET", "/v1/", nil, want{status: 404}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := do(t, h, tc.method, tc.path, nil, tc.header...)
			body := readBody(t, resp)
			w := tc.want
			if resp.StatusCode != w.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, w.status, body)
			}
			if w.code != "" && errorCode(body) != w.code {
				t.Errorf("error code %q, want %q; body %s", errorCode(body), w.code, body)
			}
			if w.contentType != "" && resp.Header.Get("Content-Type") != w.contentType {
				t.Errorf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), w.contentType)
			}
			if w.digest != "" && resp.Header.Get("Docker-Content-Digest") != w.digest {
				t.Errorf("Docker-Content-Digest %q, want %q", resp.Header.Get("Docker-Content-Digest"), w.digest)
			}
			if w.length > 0 && resp.Header.Get("Content-Length") != strconv.Itoa(w.length) {
				t.Errorf("Content-Length %q, want %d", resp.Header.Get("Content-Length"), w.length)
			}
			if (w.body != "" || tc.method == "HEAD") && body != w.body {
				t.Errorf("body %q, want %q", body, w.body)
			}
			if w.digest != "" && tc.method == "GET" && resp.StatusCode == 200 {
				if got := digest.FromString(body); got.String() != w.digest {
					t.Errorf("body has digest %s, header says %s", got, w.digest)
				}
			}
		})
	}
	// The children of an index are served by digest too.
	resp := do(t, h, "GET", "/v2/ns/app/manifests/"+b.manifest.Digest.String(), nil)
	if resp.StatusCode != 200 {
		t.Errorf("instance of an index by digest: %d", resp.StatusCode)
	}
}

// putIndex stores an index of the given manifests under name.
func putIndex(t testing.TB, l *layout.Layout, name string, ms ...imgspecv1.Descriptor) digest.Digest {
	t.Helper()
	idx := imgspecv1.Index{Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageIndex, Manifests: ms}
	data, _ := json.Marshal(idx)
	d, err := layouttest.PutBytes(l, context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	if err := layouttest.Tag(l, context.Background(), imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageIndex, Digest: d, Size: int64(len(data))}, name); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestTagsPagination(t *testing.T) {
	l := newLayout(t)
	img := putImage(t, l, "a", "")
	err := l.Update(context.Background(), func(tx *layout.IndexTx) error {
		for _, tag := range []string{"c", "a", "e", "b", "d"} {
			if err := tx.Tag(img.manifest, "app:"+tag); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	h := New(l)
	for _, tc := range []struct {
		query, tags, link string
	}{
		{"", `["a","b","c","d","e"]`, ""},
		{"?n=2", `["a","b"]`, `</v2/app/tags/list?last=b&n=2>; rel="next"`},
		{"?n=2&last=b", `["c","d"]`, `</v2/app/tags/list?last=d&n=2>; rel="next"`},
		{"?n=2&last=d", `["e"]`, ""},
		{"?last=bb", `["c","d","e"]`, ""},
		{"?n=0", `[]`, ""},
		{"?n=5", `["a","b","c","d","e"]`, ""},
		{"?last=e", `[]`, ""},
	} {
		resp := do(t, h, "GET", "/v2/app/tags/list"+tc.query, nil)
		body := readBody(t, resp)
		if want := `{"name":"app","tags":` + tc.tags + `}`; body != want {
			t.Errorf("%s: %s, want %s", tc.query, body, want)
		}
		if got := resp.Header.Get("Link"); got != tc.link {
			t.Errorf("%s: Link %q, want %q", tc.query, got, tc.link)
		}
	}
}

// The server sees writes of other processes: a tag added, moved and
// removed through the engine is served, moved and gone at the next
// request, without a restart.
func TestIndexReload(t *testing.T) {
	l := newLayout(t)
	h := New(l)
	a := putImage(t, l, "a", "app:v1")
	get := func() string {
		return do(t, h, "HEAD", "/v2/app/manifests/v1", nil).Header.Get("Docker-Content-Digest")
	}
	if got := get(); got != a.manifest.Digest.String() {
		t.Fatalf("v1 is %q, want %s", got, a.manifest.Digest)
	}
	b := putImage(t, l, "b", "app:v1")
	if got := get(); got != b.manifest.Digest.String() {
		t.Fatalf("after the move v1 is %q, want %s", got, b.manifest.Digest)
	}
	if _, err := l.Delete(context.Background(), mustName(t, "app:v1")); err != nil {
		t.Fatal(err)
	}
	if resp := do(t, h, "HEAD", "/v2/app/manifests/v1", nil); resp.StatusCode != 404 {
		t.Fatalf("deleted tag answers %d", resp.StatusCode)
	}
}

func mustName(t testing.TB, name string) layout.Selector {
	sel, err := layout.ParseSelector(name)
	if err != nil {
		t.Fatal(err)
	}
	return sel
}

// A blob or manifest whose content does not match its digest is never
// served as good: HEAD and Range answer 404 naming the corruption, and a
// full GET is cut short before its last byte.
func TestCorruptContentNeverServed(t *testing.T) {
	l := newLayout(t)
	a := putImage(t, l, "a", "app:v1")
	h := New(l)
	corrupt := func(d digest.Digest, data []byte) {
		p := filepath.Join(l.Dir(), "blobs", "sha256", d.Encoded())
		if err := os.Chmod(p, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	flipped := append([]byte(nil), a.layerData...)
	flipped[len(flipped)/2] ^= 1
	corrupt(a.layer, flipped)
	for _, tc := range []struct{ method, rng string }{{"HEAD", ""}, {"GET", "bytes=0-9"}} {
		resp := do(t, h, tc.method, "/v2/app/blobs/"+a.layer.String(), nil, "Range", tc.rng)
		if body := readBody(t, resp); resp.StatusCode != 404 || (tc.method == "GET" && !contains(body, "corrupt")) {
			t.Errorf("%s %q of a corrupt blob: %d %s", tc.method, tc.rng, resp.StatusCode, body)
		}
	}
	// A full GET through a real server: the client sees a short body.
	srv := newTestServer(t, h)
	resp, err := http.Get(srv.URL + "/v2/app/blobs/" + a.layer.String())
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAllErr(resp)
	resp.Body.Close()
	if err == nil {
		t.Fatalf("a full GET of a corrupt blob ended cleanly with %d bytes", len(got))
	}
	if len(got) >= len(flipped) {
		t.Fatalf("a full GET of a corrupt blob delivered all %d bytes", len(got))
	}
	// Repaired (the right content written again): served.
	corrupt(a.layer, a.layerData)
	resp, err = http.Get(srv.URL + "/v2/app/blobs/" + a.layer.String())
	if err != nil {
		t.Fatal(err)
	}
	got, err = readAllErr(resp)
	resp.Body.Close()
	if err != nil || digest.FromBytes(got) != a.layer {
		t.Fatalf("repaired blob: %v, digest %s", err, digest.FromBytes(got))
	}
	// A corrupt manifest: 404 with the reason, for GET and HEAD.
	corrupt(a.manifest.Digest, append(append([]byte(nil), a.manifestJSON...), ' '))
	for _, m := range []string{"GET", "HEAD"} {
		if resp := do(t, h, m, "/v2/app/manifests/v1", nil); resp.StatusCode != 404 {
			t.Errorf("%s of a corrupt manifest: %d", m, resp.StatusCode)
		}
	}
}

func TestReferrers(t *testing.T) {
	l := newLayout(t)
	ctx := context.Background()
	a := putImage(t, l, "a", "app:v1")
	if err := simplesign.Add(ctx, l, a.manifest, [][]byte{[]byte("sig one"), []byte("sig two")}); err != nil {
		t.Fatal(err)
	}
	// An SBOM as oras writes it: an untagged entry, no annotation.
	sbom := putArtifact(t, l, a.manifest, "application/spdx+json")
	h := New(l, WithNames(Names{DefaultRepo: "images"}))
	list := func(query string) (imgspecv1.Index, *http.Response) {
		resp := do(t, h, "GET", "/v2/app/referrers/"+a.manifest.Digest.String()+query, nil)
		var idx imgspecv1.Index
		if err := json.Unmarshal([]byte(readBody(t, resp)), &idx); err != nil {
			t.Fatal(err)
		}
		return idx, resp
	}
	all, resp := list("")
	if resp.Header.Get("Content-Type") != imgspecv1.MediaTypeImageIndex || resp.Header.Get("OCI-Filters-Applied") != "" {
		t.Errorf("headers %v", resp.Header)
	}
	types := map[string]int{}
	for _, d := range all.Manifests {
		types[d.ArtifactType]++
	}
	if len(all.Manifests) != 3 || types[simplesign.ArtifactType] != 2 || types["application/spdx+json"] != 1 {
		t.Fatalf("referrers %+v", all.Manifests)
	}
	only, resp := list("?artifactType=" + url.QueryEscape("application/spdx+json"))
	if resp.Header.Get("OCI-Filters-Applied") != "artifactType" || len(only.Manifests) != 1 || only.Manifests[0].Digest != sbom {
		t.Fatalf("filtered: %+v, %v", only.Manifests, resp.Header)
	}
	empty := do(t, h, "GET", "/v2/app/referrers/"+digest.FromString("nothing").String(), nil)
	if body := readBody(t, empty); empty.StatusCode != 200 || body != `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}` {
		t.Fatalf("no referrers: %d %s", empty.StatusCode, body)
	}
	// The engine's fallback tag (sha256-HEX) is not a tag of the repository.
	tags := readBody(t, do(t, h, "GET", "/v2/images/tags/list", nil))
	if contains(tags, "sha256-") {
		t.Errorf("fallback tag listed: %s", tags)
	}
}

// putArtifact stores an untagged artifact manifest with subject.
func putArtifact(t testing.TB, l *layout.Layout, subject imgspecv1.Descriptor, artifactType string) digest.Digest {
	t.Helper()
	ctx := context.Background()
	empty, _ := layouttest.PutBytes(l, ctx, []byte("{}"))
	payload := []byte(fmt.Sprintf(`{"sbom":"%s"}`, subject.Digest))
	pd, _ := layouttest.PutBytes(l, ctx, payload)
	m := imgspecv1.Manifest{
		Versioned:    imgspec.Versioned{SchemaVersion: 2},
		MediaType:    imgspecv1.MediaTypeImageManifest,
		ArtifactType: artifactType,
		Config:       imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeEmptyJSON, Digest: empty, Size: 2},
		Layers:       []imgspecv1.Descriptor{{MediaType: artifactType, Digest: pd, Size: int64(len(payload))}},
		Subject:      &subject,
		Annotations:  map[string]string{"org.example": "sbom"},
	}
	data, _ := json.Marshal(m)
	d, err := layouttest.PutBytes(l, ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	if err := layouttest.Tag(l, ctx, imgspecv1.Descriptor{MediaType: m.MediaType, ArtifactType: artifactType, Digest: d, Size: int64(len(data))}, ""); err != nil {
		t.Fatal(err)
	}
	return d
}
