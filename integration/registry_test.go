package integration

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ocilayout/ocilayout/internal/fixture"
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/transports/alltransports"
)

// ioRegistry is an in-memory distribution registry on loopback that
// counts blob uploads, so a test can tell a reused blob from a re-sent one.
type ioRegistry struct {
	host    string
	uploads atomic.Int64 // blob uploads completed (PUT, or monolithic POST with ?digest=)
}

func startCountingRegistry(t *testing.T) *ioRegistry {
	t.Helper()
	app := fixture.RegistryApp()
	r := &ioRegistry{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.Contains(req.URL.Path, "/blobs/uploads/") &&
			(req.Method == http.MethodPut || (req.Method == http.MethodPost && req.URL.Query().Get("digest") != "")) {
			r.uploads.Add(1)
		}
		app.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

// ioRemoteDigest is the digest of the manifest a reference serves.
func ioRemoteDigest(t *testing.T, ref string) digest.Digest {
	t.Helper()
	r, err := alltransports.ParseImageName(ref)
	ioMust(t, err, "parsing %s", ref)
	src, err := r.NewImageSource(context.Background(), ioSystemContext(t))
	ioMust(t, err, "opening %s", ref)
	defer src.Close()
	man, _, err := src.GetManifest(context.Background(), nil)
	ioMust(t, err, "reading the manifest of %s", ref)
	return digest.FromBytes(man)
}

// TestRegistryRoundTrip copies oci-layout: → docker:// → oci-layout: →
// docker:// for a single image and a multi-arch index (--all), with the
// CLI and with copy.Image in-process, and checks that every digest
// survives and that the last push re-sends no blob the registry has.
func TestRegistryRoundTrip(t *testing.T) {
	base := ioLayer{files: map[string]string{"etc/os-release": "ID=interop\n"}}
	single := func(t *testing.T, dir string) (digest.Digest, []digest.Digest) {
		d := ioWriteImage(t, dir, "app", "amd64", []ioLayer{base, {files: map[string]string{"app/bin": "single"}}})
		return d.Digest, []digest.Digest{d.Digest}
	}
	multi := func(t *testing.T, dir string) (digest.Digest, []digest.Digest) {
		amd := ioWriteImage(t, dir, "", "amd64", []ioLayer{base, {files: map[string]string{"app/bin": "amd64"}}})
		arm := ioWriteImage(t, dir, "", "arm64", []ioLayer{base, {files: map[string]string{"app/bin": "arm64"}}})
		return ioWriteIndex(t, dir, "app", []imgspecv1.Descriptor{amd, arm}), []digest.Digest{amd.Digest, arm.Digest}
	}
	for _, tc := range []struct {
		name  string
		build func(*testing.T, string) (digest.Digest, []digest.Digest)
		cli   bool
	}{
		{"single/cli", single, true},
		{"single/copy.Image", single, false},
		{"index-all/cli", multi, true},
		{"index-all/copy.Image", multi, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := startCountingRegistry(t)
			tmp := t.TempDir()
			src, mid := filepath.Join(tmp, "src"), filepath.Join(tmp, "mid")
			want, instances := tc.build(t, src)
			cp := func(from, to string) {
				t.Helper()
				if tc.cli {
					ioCopyCLI(t, from, to, "--all", "--preserve-digests", "--src-tls-verify=false", "--dest-tls-verify=false")
					return
				}
				ioCopy(t, from, to, &copy.Options{ImageListSelection: copy.CopyAllImages, PreserveDigests: true})
			}
			v1, v2 := "docker://"+reg.host+"/ns/app:v1", "docker://"+reg.host+"/ns/app:v2"

			cp("oci-layout:"+src+":app", v1)
			if got := ioRemoteDigest(t, v1); got != want {
				t.Fatalf("registry has %s for %s, want %s", got, v1, want)
			}
			if reg.uploads.Load() == 0 {
				t.Fatalf("the first push uploaded no blob: the counter does not see uploads")
			}
			cp(v1, "oci-layout:"+mid+":app")
			if got := ioTag(t, mid, "app"); got != want {
				t.Fatalf("pulled %s into %s, want %s", got, mid, want)
			}
			ioVerifyCLI(t, mid)
			for _, d := range instances { // every instance came along, found by digest
				mustRunCLI(t, "inspect", "--raw", "oci-layout:"+mid+":@"+d.String())
			}

			reg.uploads.Store(0)
			cp("oci-layout:"+mid+":app", v2)
			if n := reg.uploads.Load(); n != 0 {
				t.Errorf("pushing %s again to the same registry uploaded %d blobs, want 0 (all reused)", mid, n)
			}
			if got := ioRemoteDigest(t, v2); got != want {
				t.Errorf("registry has %s for %s, want %s", got, v2, want)
			}
		})
	}
}
