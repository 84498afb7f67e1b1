package registrycopy

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ocilayout/ocilayout/internal/fixture"
	"github.com/ocilayout/ocilayout/reference"
	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/pkg/compression"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/types"
)

// testImage is an image written into a layout by the fixture (not by the
// code under test): its manifest and its layers' bytes.
type testImage struct {
	manifest []byte
	layers   [][]byte
}

func (i testImage) digest() digest.Digest { return digest.FromBytes(i.manifest) }

// writeImage writes an image of n layers of layerType (gzip: each a
// gzipped tar of size bytes of pseudo-random content) into the layout at
// dir under name.
func writeImage(t *testing.T, dir, name string, n, size int, layerType string, seed byte) testImage {
	t.Helper()
	var img testImage
	var diffIDs []digest.Digest
	var descs []imgspecv1.Descriptor
	for i := range n {
		content := make([]byte, size)
		x := uint32(seed)<<8 | uint32(i)
		for j := range content {
			x = x*1664525 + 1013904223
			content[j] = byte(x >> 24)
		}
		tarStream, gz := fixture.TarGz(t, "f", content, time.Unix(0, 0).UTC(), 1)
		blob := gz
		if layerType == imgspecv1.MediaTypeImageLayer {
			blob = tarStream
		}
		diffIDs = append(diffIDs, digest.FromBytes(tarStream))
		fixture.WriteBlob(t, dir, blob)
		descs = append(descs, fixture.Descriptor(layerType, blob))
		img.layers = append(img.layers, blob)
	}
	config := fixture.MustJSON(t, imgspecv1.Image{
		Platform: imgspecv1.Platform{OS: "linux", Architecture: "amd64"},
		RootFS:   imgspecv1.RootFS{Type: "layers", DiffIDs: diffIDs},
	})
	fixture.WriteBlob(t, dir, config)
	img.manifest = fixture.MustJSON(t, imgspecv1.Manifest{
		Versioned: imgspec.Versioned{SchemaVersion: 2},
		MediaType: imgspecv1.MediaTypeImageManifest,
		Config:    fixture.Descriptor(imgspecv1.MediaTypeImageConfig, config),
		Layers:    descs,
	})
	fixture.WriteBlob(t, dir, img.manifest)
	idx := fixture.ReadIndex(t, dir)
	d := fixture.Descriptor(imgspecv1.MediaTypeImageManifest, img.manifest)
	d.Annotations = map[string]string{imgspecv1.AnnotationRefName: name}
	idx.Manifests = append(idx.Manifests, d)
	fixture.WriteIndex(t, dir, idx)
	return img
}

// env is one test's registry and the SystemContext that reaches it, with
// its own blob info cache.
type env struct {
	host string
	sys  *types.SystemContext
}

func newEnv(t *testing.T) env {
	return newEnvWith(t, func(h http.Handler) http.Handler { return h })
}

// newEnvWith is newEnv with the registry behind wrap (a hostile one).
func newEnvWith(t *testing.T, wrap func(http.Handler) http.Handler) env {
	conf := filepath.Join(t.TempDir(), "registries.conf")
	fixture.WriteFile(t, conf, nil)
	srv := httptest.NewServer(wrap(fixture.RegistryApp()))
	t.Cleanup(srv.Close)
	return env{host: strings.TrimPrefix(srv.URL, "http://"), sys: &types.SystemContext{
		DockerInsecureSkipTLSVerify: types.OptionalBoolTrue,
		BlobInfoCacheDir:            t.TempDir(),
		SystemRegistriesConfPath:    conf,
		SystemRegistriesConfDirPath: t.TempDir(),
		RegistriesDirPath:           t.TempDir(),
	}}
}

func (e env) options(report io.Writer) *copy.Options {
	return &copy.Options{SourceCtx: e.sys, DestinationCtx: e.sys, ReportWriter: report}
}

func layoutRef(t *testing.T, dir, name string) types.ImageReference {
	t.Helper()
	ref, err := reference.NewReference(dir, name)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func (e env) dockerRef(t *testing.T, repoTag string) types.ImageReference {
	t.Helper()
	ref, err := docker.ParseReference("//" + e.host + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func insecurePolicy(t *testing.T) *signature.PolicyContext {
	t.Helper()
	return policyContext(t, signature.NewPRInsecureAcceptAnything())
}

func policyContext(t *testing.T, req signature.PolicyRequirement) *signature.PolicyContext {
	t.Helper()
	pc, err := signature.NewPolicyContext(&signature.Policy{Default: signature.PolicyRequirements{req}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Destroy() })
	return pc
}

// registryManifest returns the manifest the registry serves for
// repo:ref, or nil when it has none.
func (e env) registryManifest(t *testing.T, repo, ref string) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+e.host+"/v2/"+repo+"/manifests/"+ref, nil)
	req.Header.Set("Accept", imgspecv1.MediaTypeImageManifest+", "+imgspecv1.MediaTypeImageIndex)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET manifest %s:%s: %s %v", repo, ref, resp.Status, err)
	}
	return data
}

// registryHasBlob reports whether repo holds blob d.
func (e env) registryHasBlob(t *testing.T, repo string, d digest.Digest) bool {
	t.Helper()
	resp, err := http.Head("http://" + e.host + "/v2/" + repo + "/blobs/" + d.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// layoutState is what a layout holds, for comparing two of them: its
// index.json entries and the name and bytes' digest of every blob file.
func layoutState(t *testing.T, dir string) (string, []string) {
	t.Helper()
	idx := fixture.ReadIndex(t, dir)
	entries, _ := json.Marshal(idx.Manifests)
	var files []string
	err := filepath.WalkDir(filepath.Join(dir, "blobs"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files = append(files, rel+" "+digest.FromBytes(data).String())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return string(entries), files
}

func fixtureDigest(b []byte) digest.Digest { return digest.FromBytes(b) }

func withCompression(sys *types.SystemContext, algo *compression.Algorithm) *types.SystemContext {
	c := *sys
	c.CompressionFormat = algo
	return &c
}

func withDirCompress(sys *types.SystemContext) *types.SystemContext {
	c := *sys
	c.DirForceCompress = true
	return &c
}
