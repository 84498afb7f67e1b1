package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/internal/fixture"
	"github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/pkg/blobinfocache"
	"go.podman.io/image/v5/transports/alltransports"
	"go.podman.io/image/v5/types"
)

// assertDirImage checks that dir holds exactly img in dir: format, byte for byte.
func assertDirImage(t *testing.T, dir string, img testImage) {
	t.Helper()
	if got := readFile(t, filepath.Join(dir, "manifest.json")); !bytes.Equal(got, img.manifest) {
		t.Errorf("%s/manifest.json = %s, want %s", dir, got, img.manifest)
	}
	for _, b := range [][]byte{img.config, img.layer} {
		p := filepath.Join(dir, digest.FromBytes(b).Encoded())
		if got := readFile(t, p); !bytes.Equal(got, b) {
			t.Errorf("%s differs from the source blob", p)
		}
	}
}

func TestCopyDirRoundTrip(t *testing.T) {
	img := newTestImage(t, "round trip", "amd64")
	tmp := t.TempDir()
	src := filepath.Join(tmp, "src")
	writeDirImage(t, src, img)
	lay := filepath.Join(tmp, "layout")
	digestFile := filepath.Join(tmp, "digest")

	r := mustRun(t, "copy", "--insecure-policy", "--digestfile", digestFile, "dir:"+src, "oci-layout:"+lay+":app:v1")
	if !strings.Contains(string(r.stderr), "Writing manifest") {
		t.Errorf("copy without --quiet reported no progress on stderr: %q", r.stderr)
	}
	if len(r.stdout) != 0 {
		t.Errorf("copy wrote to stdout: %q", r.stdout)
	}
	if got := string(readFile(t, digestFile)); got != img.digest().String() {
		t.Errorf("--digestfile = %q, want %q", got, img.digest())
	}

	// The layout now lists the image under its name, unchanged.
	lr := mustRun(t, "list", lay)
	if !strings.Contains(string(lr.stdout), "app:v1") || !strings.Contains(string(lr.stdout), img.digest().String()) {
		t.Errorf("list after copy:\n%s", lr.stdout)
	}
	if r := mustRun(t, "inspect", "--raw", "oci-layout:"+lay+":app:v1"); !bytes.Equal(r.stdout, img.manifest) {
		t.Errorf("manifest changed on the way in: %s", r.stdout)
	}

	// And out again, through each selector form.
	for name, ref := range map[string]string{
		"name":   "oci-layout:" + lay + ":app:v1",
		"index":  "oci-layout:" + lay + ":@0",
		"digest": "oci-layout:" + lay + ":@" + img.digest().String(),
		"only":   "oci-layout:" + lay,
	} {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			r := mustRun(t, "copy", "--quiet", "--insecure-policy", ref, "dir:"+out)
			if len(r.stderr) != 0 {
				t.Errorf("--quiet copy wrote to stderr: %q", r.stderr)
			}
			assertDirImage(t, out, img)
		})
	}
}

func TestCopyOCIRoundTrip(t *testing.T) {
	a := newTestImage(t, "from oci", "amd64")
	b := newTestImage(t, "second", "amd64")
	tmp := t.TempDir()
	ociDir := filepath.Join(tmp, "oci")
	writeLayout(t, ociDir, layoutEntry{name: "a", img: a}, layoutEntry{name: "b", img: b})
	lay := filepath.Join(tmp, "layout")

	mustRun(t, "copy", "-q", "--insecure-policy", "oci:"+ociDir+":a", "oci-layout:"+lay+":first")
	mustRun(t, "copy", "-q", "--insecure-policy", "oci:"+ociDir+":b", "oci-layout:"+lay+":second")
	// Re-tagging an existing name replaces it: still two entries.
	mustRun(t, "copy", "-q", "--insecure-policy", "oci:"+ociDir+":b", "oci-layout:"+lay+":first")
	lr := mustRun(t, "list", "--json", lay)
	if n := strings.Count(string(lr.stdout), `"name"`); n != 2 {
		t.Errorf("after re-tagging, list has %d entries, want 2:\n%s", n, lr.stdout)
	}
	if r := mustRun(t, "inspect", "--raw", "oci-layout:"+lay+":first"); !bytes.Equal(r.stdout, b.manifest) {
		t.Errorf("first after re-tag = %s, want image b", r.stdout)
	}

	// Back out to oci: and read it with containers/image's own transport.
	back := filepath.Join(tmp, "back")
	mustRun(t, "copy", "-q", "--insecure-policy", "oci-layout:"+lay+":second", "oci:"+back+":again")
	if r := mustRun(t, "inspect", "--raw", "oci:"+back+":again"); !bytes.Equal(r.stdout, b.manifest) {
		t.Errorf("oci: copy-out manifest = %s", r.stdout)
	}
	for _, blob := range [][]byte{b.config, b.layer, b.manifest} {
		p := filepath.Join(back, "blobs", "sha256", digest.FromBytes(blob).Encoded())
		if !bytes.Equal(readFile(t, p), blob) {
			t.Errorf("%s differs", p)
		}
	}
}

// TestCopyFormatConversion: oci-layout: stores OCI manifests only, so a
// Docker v2s2 image is converted on the way in, and --format v2s2 works on
// the way out to a transport that accepts it.
func TestCopyFormatConversion(t *testing.T) {
	img := newTestImage(t, "convert", "amd64")
	tmp := t.TempDir()
	src := filepath.Join(tmp, "src")
	writeDirImage(t, src, img)
	lay := filepath.Join(tmp, "layout")
	mustRun(t, "copy", "-q", "--insecure-policy", "dir:"+src, "oci-layout:"+lay+":oci")

	v2s2 := filepath.Join(tmp, "v2s2")
	mustRun(t, "copy", "-q", "--insecure-policy", "--format", "v2s2", "oci-layout:"+lay+":oci", "dir:"+v2s2)
	docker := readFile(t, filepath.Join(v2s2, "manifest.json"))
	if !bytes.Contains(docker, []byte(`"application/vnd.docker.distribution.manifest.v2+json"`)) {
		t.Fatalf("--format v2s2 wrote %s", docker)
	}

	// --preserve-digests forbids the conversion back to OCI.
	assertOneLineError(t, runCLI(t, "copy", "-q", "--insecure-policy", "--preserve-digests", "dir:"+v2s2, "oci-layout:"+lay+":kept"), 1)
	if lr := mustRun(t, "list", lay); strings.Contains(string(lr.stdout), "kept") {
		t.Errorf("a failed copy left an entry:\n%s", lr.stdout)
	}

	mustRun(t, "copy", "-q", "--insecure-policy", "dir:"+v2s2, "oci-layout:"+lay+":converted")
	r := mustRun(t, "inspect", "--raw", "oci-layout:"+lay+":converted")
	if !bytes.Contains(r.stdout, []byte(`"application/vnd.oci.image.manifest.v1+json"`)) || bytes.Equal(r.stdout, docker) {
		t.Errorf("v2s2 source stored as %s", r.stdout)
	}
	// The layer itself is untouched by the conversion.
	if !bytes.Contains(r.stdout, []byte(digest.FromBytes(img.layer).String())) {
		t.Errorf("converted manifest lost the layer %s: %s", digest.FromBytes(img.layer), r.stdout)
	}
}

func TestCopyPolicy(t *testing.T) {
	img := newTestImage(t, "policy", "amd64")
	tmp := t.TempDir()
	src := filepath.Join(tmp, "src")
	writeDirImage(t, src, img)
	lay := filepath.Join(tmp, "layout")

	reject := filepath.Join(tmp, "reject.json")
	fixture.WriteFile(t, reject, []byte(`{"default":[{"type":"reject"}]}`))
	res := runCLI(t, "copy", "-q", "--policy", reject, "dir:"+src, "oci-layout:"+lay+":x")
	assertOneLineError(t, res, 1, "rejected")
	if _, err := os.Stat(filepath.Join(lay, "index.json")); err == nil {
		if lr := mustRun(t, "list", lay); strings.Contains(string(lr.stdout), img.digest().String()) {
			t.Errorf("a rejected image was stored:\n%s", lr.stdout)
		}
	}
	// --retry-times must not retry a policy rejection: still one line.
	assertOneLineError(t, runCLI(t, "copy", "--retry-times", "3", "--policy", reject, "dir:"+src, "oci-layout:"+lay+":x"), 1, "rejected")

	accept := filepath.Join(tmp, "accept.json")
	fixture.WriteFile(t, accept, []byte(`{"default":[{"type":"reject"}],"transports":{"dir":{"":[{"type":"insecureAcceptAnything"}]}}}`))
	mustRun(t, "copy", "-q", "--policy", accept, "dir:"+src, "oci-layout:"+lay+":x")

	assertOneLineError(t, runCLI(t, "copy", "--policy", filepath.Join(tmp, "missing.json"), "dir:"+src, "oci-layout:"+lay+":y"), 1, "missing.json")
	assertOneLineError(t, runCLI(t, "copy", "--policy", accept, "--insecure-policy", "dir:"+src, "oci-layout:"+lay+":y"), 2, "--insecure-policy")
}

func TestCopyCompression(t *testing.T) {
	img := newTestImage(t, "compress", "amd64")
	tmp := t.TempDir()
	src := filepath.Join(tmp, "src")
	writeDirImage(t, src, img)
	lay := filepath.Join(tmp, "layout")
	mustRun(t, "copy", "-q", "--insecure-policy", "--dest-compress-format", "zstd", "--dest-force-compress-format", "dir:"+src, "oci-layout:"+lay+":zstd")
	r := mustRun(t, "inspect", "--raw", "oci-layout:"+lay+":zstd")
	if !bytes.Contains(r.stdout, []byte(`"application/vnd.oci.image.layer.v1.tar+zstd"`)) {
		t.Errorf("--dest-compress-format zstd stored %s", r.stdout)
	}
	// Decompressed content is unchanged: the config's diff ID still matches.
	if cfg := mustRun(t, "inspect", "--raw", "--config", "oci-layout:"+lay+":zstd"); !bytes.Contains(cfg.stdout, []byte(img.diffID.String())) {
		t.Errorf("config after recompression: %s", cfg.stdout)
	}
}

// TestSkipBlobInfoCache: a copy into a layout gets containers/image's
// memory-only blob info cache (no fsync'd SQLite writes); a copy to any
// other transport keeps the persistent one.
func TestSkipBlobInfoCache(t *testing.T) {
	for _, tc := range []struct {
		dest   string
		memory bool
	}{
		{"oci-layout:" + t.TempDir() + ":app", true},
		{"dir:" + t.TempDir(), false},
		{"docker://registry.example.com/ns/app:v1", false},
	} {
		ref, err := alltransports.ParseImageName(tc.dest)
		if err != nil {
			t.Fatal(err)
		}
		sys := &types.SystemContext{}
		skipBlobInfoCache(ref, sys)
		cache := blobinfocache.DefaultCache(sys)
		if isMemory := strings.Contains(fmt.Sprintf("%T", cache), "memory"); isMemory != tc.memory {
			t.Errorf("%s: blob info cache %T, want memory-only = %v", tc.dest, cache, tc.memory)
		}
	}
}
