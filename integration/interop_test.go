package integration

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/internal/fixture"
	"github.com/opencontainers/go-digest"
)

// ioCLILayout builds a layout the way a user does: images staged in a
// scratch layout, then copied in with the ocilayout CLI. It returns the
// layout and the digest of each name.
func ioCLILayout(t *testing.T, images map[string][]ioLayer) (string, map[string]digest.Digest) {
	t.Helper()
	tmp := t.TempDir()
	stage, dir := filepath.Join(tmp, "stage"), filepath.Join(tmp, "ours")
	want := map[string]digest.Digest{}
	for name, layers := range images {
		want[name] = ioWriteImage(t, stage, name, "amd64", layers).Digest
		ioCopyCLI(t, "oci-layout:"+stage+":"+name, "oci-layout:"+dir+":"+name, "--preserve-digests")
	}
	return dir, want
}

var ioInteropImages = map[string][]ioLayer{
	"app":           {{files: map[string]string{"etc/motd": "hello from ocilayout\n"}}, {files: map[string]string{"app/run.sh": "#!/bin/sh\necho run\n"}}},
	"tools:v1":      {{files: map[string]string{"etc/motd": "hello from ocilayout\n"}}, {files: map[string]string{"usr/bin/tool": "tool"}}},
	signedName:      {{files: map[string]string{"signed.txt": "signed image"}}},
	"docker.io/x:y": {{files: map[string]string{"qualified.txt": "q"}}},
}

// TestInteropSkopeoReadsOurLayout: skopeo (its own containers/image, the
// built-in oci: transport) inspects and copies every image our CLI wrote,
// and sees the same manifest digest.
func TestInteropSkopeoReadsOurLayout(t *testing.T) {
	skopeo := ioTool(t, "skopeo")
	dir, want := ioCLILayout(t, ioInteropImages)
	for name, d := range want {
		out := ioRun(t, skopeo, "inspect", "oci:"+dir+":"+name)
		var info struct{ Digest digest.Digest }
		if err := json.Unmarshal([]byte(out), &info); err != nil {
			t.Fatalf("skopeo inspect oci:%s:%s printed no JSON: %v\n%s", dir, name, err, out)
		}
		if info.Digest != d {
			t.Errorf("skopeo inspect oci:%s:%s reports %s, want %s", dir, name, info.Digest, d)
		}
		dst := filepath.Join(t.TempDir(), "dir")
		ioRun(t, skopeo, "--insecure-policy", "copy", "--preserve-digests", "oci:"+dir+":"+name, "dir:"+dst)
		if got := digest.Digest("sha256:" + ioSHA256File(t, filepath.Join(dst, "manifest.json"))); got != d {
			t.Errorf("skopeo copy oci:%s:%s dir:%s wrote manifest %s, want %s", dir, name, dst, got, d)
		}
	}
}

// TestInteropUmociReadsOurLayout: umoci lists our names, unpacks our
// image to the files that went in, and its gc keeps every blob our index
// needs, signature artifacts included: ocilayout verify passes after it
// and the signature still reads.
func TestInteropUmociReadsOurLayout(t *testing.T) {
	umoci := ioTool(t, "umoci")
	dir, want := ioCLILayout(t, ioInteropImages)
	key := newTestKey(t, "Interop Signer", "")
	mustRunCLI(t, "sign", "--key", key.secretPath, "--identity", signedName, "oci-layout:"+dir+":"+signedName)
	ioVerifyCLI(t, dir)

	names := strings.Fields(ioRun(t, umoci, "ls", "--layout", dir))
	for name := range want {
		if !slices.Contains(names, name) {
			t.Errorf("umoci ls --layout %s lists %q, missing %q", dir, names, name)
		}
	}

	bundle := filepath.Join(t.TempDir(), "bundle")
	ioRun(t, umoci, "unpack", "--image", dir+":app", bundle)
	for _, layer := range ioInteropImages["app"] {
		for path, content := range layer.files {
			got, err := os.ReadFile(filepath.Join(bundle, "rootfs", path))
			if err != nil || string(got) != content {
				t.Errorf("umoci unpack --image %s:app: rootfs/%s = %q (%v), want %q", dir, path, got, err, content)
			}
		}
	}

	before := ioBlobFiles(t, dir)
	ioRun(t, umoci, "gc", "--layout", dir)
	if after := ioBlobFiles(t, dir); !slices.Equal(before, after) {
		t.Errorf("umoci gc --layout %s changed the blobs of a layout with nothing unreachable:\nbefore %v\nafter  %v", dir, before, after)
	}
	ioVerifyCLI(t, dir)
	if sigs := signaturesOf(t, "oci-layout:"+dir+":"+signedName, nil); len(sigs) != 1 {
		t.Errorf("after umoci gc, %s has %d signatures, want 1", signedName, len(sigs))
	}
	for name, d := range want {
		if got := ioTag(t, dir, name); got != d {
			t.Errorf("after umoci gc, %s is %s, want %s", name, got, d)
		}
	}

	// Now give umoci's gc real work: moving tools:v1 to a new image leaves
	// the old one's manifest, config and own layer unreachable (verify
	// reports them); umoci gc must remove exactly those.
	stage := filepath.Join(t.TempDir(), "stage")
	ioWriteImage(t, stage, "new", "amd64", []ioLayer{{files: map[string]string{"usr/bin/tool": "tool v2"}}})
	ioCopyCLI(t, "oci-layout:"+stage+":new", "oci-layout:"+dir+":tools:v1")
	if stdout, _, err := runCLI(t, "verify", dir); err == nil || !strings.Contains(stdout, "unreachable") {
		t.Fatalf("after a tag move, ocilayout verify %s should report unreachable blobs: err %v\n%s", dir, err, stdout)
	}
	ioRun(t, umoci, "gc", "--layout", dir)
	ioVerifyCLI(t, dir)
	if sigs := signaturesOf(t, "oci-layout:"+dir+":"+signedName, nil); len(sigs) != 1 {
		t.Errorf("after umoci gc of unreachable blobs, %s has %d signatures, want 1", signedName, len(sigs))
	}
}

// ioBlobFiles lists the blob files of a layout, sorted.
func ioBlobFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	root := filepath.Join(dir, "blobs")
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			files = append(files, rel)
		}
		return err
	})
	ioMust(t, err, "listing %s", root)
	slices.Sort(files)
	return files
}

// TestInteropWeReadSkopeoLayout: a layout written by skopeo's built-in
// oci: transport is read by ocilayout copy oci-layout:..., byte for byte.
func TestInteropWeReadSkopeoLayout(t *testing.T) {
	skopeo := ioTool(t, "skopeo")
	tmp := t.TempDir()
	stage, theirs := filepath.Join(tmp, "stage"), filepath.Join(tmp, "theirs")
	layers := []ioLayer{{files: map[string]string{"from/skopeo": "written by skopeo"}}}
	ioWriteImage(t, stage, "app", "amd64", layers)
	ioCopyCLI(t, "oci-layout:"+stage+":app", "dir:"+filepath.Join(tmp, "dir"))
	ioRun(t, skopeo, "--insecure-policy", "copy", "dir:"+filepath.Join(tmp, "dir"), "oci:"+theirs+":fromskopeo")
	want := builtinTag(t, theirs, "fromskopeo")

	ours := filepath.Join(tmp, "ours")
	ioCopyCLI(t, "oci-layout:"+theirs+":fromskopeo", "oci-layout:"+ours+":app", "--preserve-digests")
	if got := ioTag(t, ours, "app"); got != want {
		t.Errorf("ocilayout copy of skopeo's oci:%s:fromskopeo gave %s, want %s", theirs, got, want)
	}
	_, m := ioLayoutManifest(t, ours, "app")
	if got := ioLayerFiles(t, ours, m.Layers[0]); got["from/skopeo"] != "written by skopeo" {
		t.Errorf("layer read from skopeo's layout holds %v", got)
	}
}

// TestInteropWeReadUmociLayout: umoci init/new/unpack/repack/tag build a
// layout; ocilayout copy reads the repacked, retagged image with the file
// added in the bundle.
func TestInteropWeReadUmociLayout(t *testing.T) {
	umoci := ioTool(t, "umoci")
	tmp := t.TempDir()
	theirs, bundle := filepath.Join(tmp, "theirs"), filepath.Join(tmp, "bundle")
	ioRun(t, umoci, "init", "--layout", theirs)
	ioRun(t, umoci, "new", "--image", theirs+":base")
	ioRun(t, umoci, "unpack", "--image", theirs+":base", bundle)
	fixture.WriteFile(t, filepath.Join(bundle, "rootfs", "hello.txt"), []byte("repacked by umoci"))
	ioRun(t, umoci, "repack", "--image", theirs+":v1", bundle)
	ioRun(t, umoci, "tag", "--image", theirs+":v1", "latest")
	want := builtinTag(t, theirs, "latest")
	indexBefore, blobsBefore := ioReadFile(t, filepath.Join(theirs, "index.json")), ioBlobFiles(t, theirs)

	ours := filepath.Join(tmp, "ours")
	ioCopyCLI(t, "oci-layout:"+theirs+":latest", "oci-layout:"+ours+":fromumoci", "--preserve-digests")
	if got := ioTag(t, ours, "fromumoci"); got != want {
		t.Errorf("ocilayout copy of umoci's %s:latest gave %s, want %s", theirs, got, want)
	}
	_, m := ioLayoutManifest(t, ours, "fromumoci")
	found := false
	for _, l := range m.Layers {
		if ioLayerFiles(t, ours, l)["hello.txt"] == "repacked by umoci" {
			found = true
		}
	}
	if !found {
		t.Errorf("no layer of umoci's repacked image (read through ocilayout) holds hello.txt")
	}
	// Reading changes nothing in their layout.
	if !bytes.Equal(ioReadFile(t, filepath.Join(theirs, "index.json")), indexBefore) || !slices.Equal(ioBlobFiles(t, theirs), blobsBefore) {
		t.Errorf("reading umoci's layout %s with ocilayout changed its index.json or blobs", theirs)
	}
	ioRun(t, umoci, "ls", "--layout", theirs)
}

func ioReadFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	ioMust(t, err, "reading %s", path)
	return data
}
