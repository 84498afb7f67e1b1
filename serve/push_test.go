package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ocilayout/ocilayout/internal/layouttest"

	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Every way of uploading a blob stores it verified; a wrong digest stores
// nothing.
func TestBlobUploads(t *testing.T) {
	l := newLayout(t)
	h := New(l, WithPush())
	data := bytes.Repeat([]byte("0123456789"), 10000)
	d := digest.FromBytes(data)
	sha512 := digest.SHA512.FromBytes(data)

	stored := func(t *testing.T, d digest.Digest) {
		t.Helper()
		got, err := l.ReadBlob(context.Background(), d, -1)
		if err != nil && len(data) <= maxManifestSize {
			t.Fatalf("blob %s not stored: %v", d, err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("blob %s has other content", d)
		}
	}
	start := func(t *testing.T) string {
		t.Helper()
		resp := do(t, h, "POST", "/v2/app/blobs/uploads/", nil)
		if resp.StatusCode != 202 || resp.Header.Get("Location") == "" {
			t.Fatalf("POST: %d %s", resp.StatusCode, readBody(t, resp))
		}
		return resp.Header.Get("Location")
	}

	t.Run("monolithic POST", func(t *testing.T) {
		resp := do(t, h, "POST", "/v2/app/blobs/uploads/?digest="+d.String(), data)
		if resp.StatusCode != 201 || resp.Header.Get("Location") != "/v2/app/blobs/"+d.String() {
			t.Fatalf("%d %v", resp.StatusCode, resp.Header)
		}
		stored(t, d)
	})
	t.Run("POST then PUT, sha512", func(t *testing.T) {
		loc := start(t)
		resp := do(t, h, "PUT", loc+"?digest="+sha512.String(), data)
		if resp.StatusCode != 201 || resp.Header.Get("Docker-Content-Digest") != sha512.String() {
			t.Fatalf("%d %s", resp.StatusCode, readBody(t, resp))
		}
		stored(t, sha512)
	})
	t.Run("chunked PATCH", func(t *testing.T) {
		loc := start(t)
		for off := 0; off < len(data); off += 30000 {
			end := min(off+30000, len(data))
			resp := do(t, h, "PATCH", loc, data[off:end], "Content-Range", fmt.Sprintf("%d-%d", off, end-1), "Content-Type", "application/octet-stream")
			if resp.StatusCode != 202 || resp.Header.Get("Range") != fmt.Sprintf("0-%d", end-1) {
				t.Fatalf("PATCH %d-%d: %d %v", off, end-1, resp.StatusCode, resp.Header)
			}
		}
		if resp := do(t, h, "GET", loc, nil); resp.StatusCode != 204 || resp.Header.Get("Range") != fmt.Sprintf("0-%d", len(data)-1) {
			t.Fatalf("status: %d %v", resp.StatusCode, resp.Header)
		}
		// A chunk that does not continue the upload is refused.
		if resp := do(t, h, "PATCH", loc, data[:10], "Content-Range", "0-9"); resp.StatusCode != 416 {
			t.Fatalf("out-of-order chunk: %d", resp.StatusCode)
		}
		if resp := do(t, h, "PUT", loc+"?digest="+d.String(), nil); resp.StatusCode != 201 {
			t.Fatalf("PUT: %d %s", resp.StatusCode, readBody(t, resp))
		}
		if resp := do(t, h, "GET", loc, nil); resp.StatusCode != 404 || errorCode(readBody(t, resp)) != codeBlobUploadUnknown {
			t.Fatalf("finished upload still there: %d", resp.StatusCode)
		}
		stored(t, d)
	})
	t.Run("wrong digest stores nothing", func(t *testing.T) {
		other := digest.FromString("other")
		resp := do(t, h, "POST", "/v2/app/blobs/uploads/?digest="+other.String(), data)
		if resp.StatusCode != 400 || errorCode(readBody(t, resp)) != codeDigestInvalid {
			t.Fatalf("monolithic: %d", resp.StatusCode)
		}
		loc := start(t)
		resp = do(t, h, "PUT", loc+"?digest="+other.String(), data)
		if resp.StatusCode != 400 || errorCode(readBody(t, resp)) != codeDigestInvalid {
			t.Fatalf("PUT: %d", resp.StatusCode)
		}
		if f, err := l.OpenBlob(context.Background(), other); err == nil {
			f.Close()
			t.Fatal("a blob was stored under the wrong digest")
		}
		if resp := do(t, h, "DELETE", loc, nil); resp.StatusCode != 204 {
			t.Fatalf("cancel: %d", resp.StatusCode)
		}
	})
	t.Run("mount", func(t *testing.T) {
		resp := do(t, h, "POST", "/v2/other/blobs/uploads/?mount="+d.String()+"&from=app", nil)
		if resp.StatusCode != 201 || resp.Header.Get("Location") != "/v2/other/blobs/"+d.String() {
			t.Fatalf("mount: %d", resp.StatusCode)
		}
		missing := digest.FromString("missing")
		resp = do(t, h, "POST", "/v2/other/blobs/uploads/?mount="+missing.String()+"&from=app", nil)
		if resp.StatusCode != 202 {
			t.Fatalf("mount of a missing blob must start an upload: %d", resp.StatusCode)
		}
	})
	t.Run("upload of another repository", func(t *testing.T) {
		loc := start(t)
		if resp := do(t, h, "PATCH", "/v2/other"+loc[len("/v2/app"):], data); resp.StatusCode != 404 {
			t.Fatalf("%d", resp.StatusCode)
		}
	})
}

// Manifest pushes record index.json entries through the engine; deletes
// remove them; the result verifies.
func TestManifestPushAndDelete(t *testing.T) {
	l := newLayout(t)
	// A short timeout, so that the gc at the end waits for the lease's
	// grace period (the upload timeout here) rather than a minute.
	h := New(l, WithPush(), WithUploadTimeout(100*time.Millisecond))
	ctx := context.Background()
	config := []byte(`{"architecture":"amd64","os":"linux"}`)
	layer := []byte("layer")
	for _, b := range [][]byte{config, layer} {
		if resp := do(t, h, "POST", "/v2/ns/app/blobs/uploads/?digest="+digest.FromBytes(b).String(), b); resp.StatusCode != 201 {
			t.Fatal(resp.StatusCode)
		}
	}
	m := imgspecv1.Manifest{
		Versioned: imgspec.Versioned{SchemaVersion: 2},
		MediaType: imgspecv1.MediaTypeImageManifest,
		Config:    imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageConfig, Digest: digest.FromBytes(config), Size: int64(len(config))},
		Layers:    []imgspecv1.Descriptor{{MediaType: imgspecv1.MediaTypeImageLayer, Digest: digest.FromBytes(layer), Size: int64(len(layer))}},
	}
	mj, _ := json.Marshal(m)
	md := digest.FromBytes(mj)
	put := func(ref string, body []byte, ct string) *http.Response {
		return do(t, h, "PUT", "/v2/ns/app/manifests/"+ref, body, "Content-Type", ct)
	}
	if resp := put("v1", mj, imgspecv1.MediaTypeImageManifest); resp.StatusCode != 201 || resp.Header.Get("Docker-Content-Digest") != md.String() {
		t.Fatalf("PUT by tag: %d %s", resp.StatusCode, readBody(t, resp))
	}
	entries, _ := layouttest.List(l, ctx)
	if len(entries) != 1 || entries[0].Name != "ns/app:v1" || entries[0].Digest != md {
		t.Fatalf("index.json after the push: %+v", entries)
	}
	// A manifest that names a blob the layout lacks is refused.
	bad := m
	bad.Layers = []imgspecv1.Descriptor{{MediaType: imgspecv1.MediaTypeImageLayer, Digest: digest.FromString("absent"), Size: 6}}
	bj, _ := json.Marshal(bad)
	if resp := put("v2", bj, imgspecv1.MediaTypeImageManifest); resp.StatusCode != 400 || errorCode(readBody(t, resp)) != codeManifestBlobUnknown {
		t.Fatalf("manifest with a missing blob: %d", resp.StatusCode)
	}
	// The digest in the URL must be the manifest's.
	if resp := put(digest.FromString("x").String(), mj, imgspecv1.MediaTypeImageManifest); resp.StatusCode != 400 || errorCode(readBody(t, resp)) != codeDigestInvalid {
		t.Fatalf("wrong digest: %d", resp.StatusCode)
	}
	// Content-Type must agree with mediaType.
	if resp := put("v3", mj, imgspecv1.MediaTypeImageIndex); resp.StatusCode != 400 || errorCode(readBody(t, resp)) != codeManifestInvalid {
		t.Fatalf("mismatched Content-Type: %d", resp.StatusCode)
	}
	// A referrer pushed by digest is listed, and answered with OCI-Subject.
	art := m
	art.ArtifactType = "application/example"
	art.Subject = &imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest, Digest: md, Size: int64(len(mj))}
	aj, _ := json.Marshal(art)
	ad := digest.FromBytes(aj)
	if resp := put(ad.String(), aj, imgspecv1.MediaTypeImageManifest); resp.StatusCode != 201 || resp.Header.Get("OCI-Subject") != md.String() {
		t.Fatalf("PUT referrer by digest: %d %v", resp.StatusCode, resp.Header)
	}
	refs := readBody(t, do(t, h, "GET", "/v2/ns/app/referrers/"+md.String(), nil))
	if !contains(refs, ad.String()) || !contains(refs, `"artifactType":"application/example"`) {
		t.Fatalf("referrers: %s", refs)
	}
	if rep, err := l.Verify(ctx); err != nil || !(len(rep.Problems) == 0) {
		t.Fatalf("layout unsound after pushes: %v %+v", err, rep)
	}
	// Delete the referrer by digest (a referrer also goes with its
	// subject: the engine drops it when the image's last entry goes).
	if resp := do(t, h, "DELETE", "/v2/ns/app/manifests/"+ad.String(), nil); resp.StatusCode != 202 {
		t.Fatalf("DELETE digest: %d", resp.StatusCode)
	}
	if resp := do(t, h, "HEAD", "/v2/ns/app/manifests/"+ad.String(), nil); resp.StatusCode != 404 {
		t.Fatalf("deleted digest: %d", resp.StatusCode)
	}
	// Delete the tag: gone at once.
	if resp := do(t, h, "DELETE", "/v2/ns/app/manifests/v1", nil); resp.StatusCode != 202 {
		t.Fatalf("DELETE tag: %d", resp.StatusCode)
	}
	if resp := do(t, h, "HEAD", "/v2/ns/app/manifests/v1", nil); resp.StatusCode != 404 {
		t.Fatalf("deleted tag: %d", resp.StatusCode)
	}
	if resp := do(t, h, "DELETE", "/v2/ns/app/manifests/v1", nil); resp.StatusCode != 404 {
		t.Fatalf("DELETE of a missing tag: %d", resp.StatusCode)
	}
	if resp := do(t, h, "DELETE", "/v2/ns/app/blobs/"+digest.FromBytes(layer).String(), nil); resp.StatusCode != 405 {
		t.Fatalf("blob DELETE: %d", resp.StatusCode)
	}
	// What the deletes left is gc's: it reclaims it, and the layout verifies.
	res, err := l.GC(ctx)
	if err != nil || len(res.Blobs) != 4 {
		t.Fatalf("gc after deletes: %v, %+v", err, res)
	}
}

// leaseHeld reports whether some writer holds the engine's write lease:
// whether an exclusive flock of its lock file (the one gc takes) would
// have to wait.
func leaseHeld(t *testing.T, dir string) bool {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, ".ocilayout-gc.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if err == syscall.EWOULDBLOCK {
			return true
		}
		t.Fatal(err)
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}

// Between a blob's upload and the manifest that names it, the server
// keeps the write lease, so a gc started in that window waits and then
// finds the blob reachable; once pushes stop, the lease goes.
func TestPushLeaseHoldsOffGC(t *testing.T) {
	l := newLayout(t)
	h := New(l, WithPush(), WithUploadTimeout(200*time.Millisecond))
	ctx := context.Background()
	if leaseHeld(t, l.Dir()) {
		t.Fatal("lease held before any push")
	}
	config := []byte(`{"architecture":"amd64","os":"linux"}`)
	cd := digest.FromBytes(config)
	if resp := do(t, h, "POST", "/v2/app/blobs/uploads/?digest="+cd.String(), config); resp.StatusCode != 201 {
		t.Fatal(resp.StatusCode)
	}
	if !leaseHeld(t, l.Dir()) {
		t.Fatal("no write lease held after a blob push: gc could reclaim it before its manifest")
	}
	gcDone := make(chan error, 1)
	go func() {
		_, err := l.GC(ctx)
		gcDone <- err
	}()
	m := imgspecv1.Manifest{
		Versioned: imgspec.Versioned{SchemaVersion: 2},
		MediaType: imgspecv1.MediaTypeImageManifest,
		Config:    imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageConfig, Digest: cd, Size: int64(len(config))},
		Layers:    []imgspecv1.Descriptor{},
	}
	mj, _ := json.Marshal(m)
	if resp := do(t, h, "PUT", "/v2/app/manifests/v1", mj, "Content-Type", imgspecv1.MediaTypeImageManifest); resp.StatusCode != 201 {
		t.Fatalf("manifest PUT while gc waits: %d %s", resp.StatusCode, readBody(t, resp))
	}
	if err := <-gcDone; err != nil {
		t.Fatal(err)
	}
	if _, err := l.ReadBlob(ctx, cd, int64(len(config))); err != nil {
		t.Fatalf("gc reclaimed the pushed config: %v", err)
	}
	if leaseHeld(t, l.Dir()) {
		t.Fatal("lease still held after gc ran")
	}
}
