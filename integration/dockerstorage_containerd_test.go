package integration

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/copy"
)

// TestDockerStorageContainerd reads a multi-platform image and a
// single-platform one from the content store of the containerd a real
// dockerd manages, imported by containerd's own client (ctr import, in
// Docker's "moby" namespace) — the store Docker Engine's containerd image
// store uses. Everything must come out with its original digests: the
// index, each platform's manifest, every compressed layer. The store is
// read from a read-only bind mount, both as a Docker root and as a
// containerd root, and no file under it may change.
func TestDockerStorageContainerd(t *testing.T) {
	work := t.TempDir()
	oci := filepath.Join(work, "oci")
	amd := ioWriteImage(t, oci, "", "amd64", []ioLayer{{files: map[string]string{"etc/os": "amd64\n"}}, {files: map[string]string{"app": "one"}, comp: "zstd"}})
	arm := ioWriteImage(t, oci, "", "arm64", []ioLayer{{files: map[string]string{"etc/os": "arm64\n"}}})
	index := ioWriteIndex(t, oci, "multi", []imgspecv1.Descriptor{amd, arm})
	single := ioWriteImage(t, oci, "single", "amd64", []ioLayer{{files: map[string]string{"single": "1"}}})

	multiTar := filepath.Join(work, "multi.tar")
	ioCopy(t, "oci-layout:"+oci+":multi", "oci-archive:"+multiTar+":docker.io/library/multi:v1",
		&copy.Options{ImageListSelection: copy.CopyAllImages, PreserveDigests: true})
	singleTar := filepath.Join(work, "single.tar")
	ioCopy(t, "oci-layout:"+oci+":single", "oci-archive:"+singleTar+":quay.io/ns/single:1", &copy.Options{PreserveDigests: true})

	// A docker-archive: containerd turns it into a Docker schema2 image
	// with uncompressed layers, the other shape Docker's store holds.
	dockerTar := filepath.Join(work, "docker.tar")
	ioCopy(t, "oci-layout:"+oci+":single", "docker-archive:"+dockerTar+":localhost/legacy:v2", nil)

	d := startDockerd(t, "vfs")
	d.ctr(t, "images", "import", "--all-platforms", "--no-unpack", multiTar)
	d.ctr(t, "images", "import", "--no-unpack", singleTar)
	d.ctr(t, "images", "import", "--no-unpack", dockerTar)
	listed := d.ctr(t, "images", "list")
	d.stop(t)
	legacy := dsCtrTarget(t, listed, "docker.io/localhost/legacy:v2", "localhost/legacy:v2")
	for _, want := range []string{"docker.io/library/multi:v1", "quay.io/ns/single:1"} {
		if !strings.Contains(listed, want) {
			t.Fatalf("ctr images list shows no %s:\n%s", want, listed)
		}
	}

	root := d.dataRoot
	before := ioTreeState(t, root)
	ro := dsReadOnly(t, root)
	for _, c := range []struct {
		src   string
		flags []string
		want  digest.Digest // the manifest or index digest the layout must get
	}{
		{"docker-storage:" + ro + ":multi:v1", []string{"--all"}, index},
		{"docker-storage:" + ro + ":@" + index.String(), []string{"--all"}, index},
		{"docker-storage:" + filepath.Join(ro, "containerd", "daemon") + ":multi:v1", []string{"--all"}, index},
		{"docker-storage:" + ro + ":multi:v1", nil, amd.Digest},
		{"docker-storage:" + ro + ":quay.io/ns/single:1", nil, single.Digest},
		{"docker-storage:" + ro + ":" + legacy.name, nil, legacy.digest},
	} {
		if c.want == legacy.digest {
			dsCheckLegacy(t, c.src, oci, single)
			continue
		}
		dst := filepath.Join(t.TempDir(), "layout")
		ioCopyCLI(t, c.src, "oci-layout:"+dst+":copied", append(c.flags, "--preserve-digests")...)
		ioVerifyCLI(t, dst)
		if got := ioTag(t, dst, "copied"); got != c.want {
			t.Errorf("%s %v: copied %s, want the original %s", c.src, c.flags, got, c.want)
		}
		if len(c.flags) > 0 { // --all: every instance is there, byte for byte
			for _, inst := range []imgspecv1.Descriptor{amd, arm} {
				if got := ioSHA256File(t, filepath.Join(dst, "blobs", "sha256", inst.Digest.Encoded())); got != inst.Digest.Encoded() {
					t.Errorf("%s: instance %s copied as %s", c.src, inst.Digest, got)
				}
			}
		}
	}

	entries, out := dsList(t, ro)
	ids := map[string]string{}
	for _, e := range entries {
		if e.Store == "containerd" && len(e.Names) == 1 {
			ids[e.Names[0]] = e.ID
		}
	}
	if ids["docker.io/library/multi:v1"] != index.String() || ids["quay.io/ns/single:1"] != single.Digest.String() {
		t.Errorf("list shows %v, want multi:v1 as %s and single:1 as %s:\n%s", ids, index, single.Digest, out)
	}

	if after := ioTreeState(t, root); after != before {
		t.Errorf("reading changed the store under %s:\nbefore:\n%s\nafter:\n%s", root, before, after)
	}
	if _, err := os.Stat(filepath.Join(root, "probe")); err == nil {
		t.Errorf("a probe file appeared under %s", root)
	}

	// A damaged blob (same size, other bytes) in a copy of the store is an
	// error naming the blob; so is a platform whose blobs were removed.
	damaged := filepath.Join(t.TempDir(), "root")
	ioRun(t, "cp", "-a", root, damaged)
	blobs := filepath.Join(damaged, "containerd", "daemon", "io.containerd.content.v1.content", "blobs", "sha256")
	var amdMan imgspecv1.Manifest
	ioMust(t, json.Unmarshal(mustRead(t, filepath.Join(blobs, amd.Digest.Encoded())), &amdMan), "parsing the amd64 manifest")
	layer := filepath.Join(blobs, amdMan.Layers[0].Digest.Encoded())
	orig := mustRead(t, layer)
	data := bytes.Clone(orig)
	data[len(data)/2] ^= 0xff
	ioMust(t, os.Chmod(layer, 0o644), "chmod %s", layer)
	ioMust(t, os.WriteFile(layer, data, 0o644), "damaging %s", layer)
	_, err := ioTryCopy(t, "docker-storage:"+damaged+":multi:v1", "oci-layout:"+t.TempDir()+":x", nil)
	if err == nil || !strings.Contains(err.Error(), amdMan.Layers[0].Digest.String()) {
		t.Errorf("copying with a damaged layer blob: %v, want an error naming %s", err, amdMan.Layers[0].Digest)
	}
	ioMust(t, os.WriteFile(layer, orig, 0o644), "repairing %s", layer)
	ioMust(t, os.Remove(filepath.Join(blobs, arm.Digest.Encoded())), "removing the arm64 manifest")
	_, err = ioTryCopy(t, "docker-storage:"+damaged+":multi:v1", "oci-layout:"+t.TempDir()+":x", &copy.Options{ImageListSelection: copy.CopyAllImages})
	if err == nil || !strings.Contains(err.Error(), arm.Digest.String()) || !strings.Contains(err.Error(), "not in the content store") {
		t.Errorf("copying --all with a platform missing: %v, want an error naming %s", err, arm.Digest)
	}
}

// dsCheckLegacy copies the Docker schema2 image containerd made of a
// docker-archive into a layout, which converts it to OCI and compresses
// its layer: the config must be the one we made (its digest is kept by
// the conversion) and the layer must decompress to the tar we made.
func dsCheckLegacy(t *testing.T, src, oci string, orig imgspecv1.Descriptor) {
	t.Helper()
	var want imgspecv1.Manifest
	ioMust(t, json.Unmarshal(mustRead(t, filepath.Join(oci, "blobs", "sha256", orig.Digest.Encoded())), &want), "parsing the original manifest")
	dst := filepath.Join(t.TempDir(), "layout")
	// --dest-compress: the layers come uncompressed, and the copy is to gzip them
	// (without it a layout keeps them as they are).
	ioCopyCLI(t, src, "oci-layout:"+dst+":copied", "--dest-compress")
	ioVerifyCLI(t, dst)
	var got imgspecv1.Manifest
	ioMust(t, json.Unmarshal(mustRead(t, filepath.Join(dst, "blobs", "sha256", ioTag(t, dst, "copied").Encoded())), &got), "parsing the copied manifest")
	if got.Config.Digest != want.Config.Digest || len(got.Layers) != 1 {
		t.Fatalf("%s: copied config %s with %d layers, want the original config %s with 1 layer", src, got.Config.Digest, len(got.Layers), want.Config.Digest)
	}
	_, _, diffID := ioLayerBlob(t, ioLayer{files: map[string]string{"single": "1"}})
	zr, err := gzip.NewReader(bytes.NewReader(mustRead(t, filepath.Join(dst, "blobs", "sha256", got.Layers[0].Digest.Encoded()))))
	ioMust(t, err, "gunzip the copied layer of %s", src)
	h := digest.SHA256.Digester()
	_, err = io.Copy(h.Hash(), zr)
	ioMust(t, err, "gunzip the copied layer of %s", src)
	if h.Digest() != diffID {
		t.Errorf("%s: layer decompresses to %s, want %s", src, h.Digest(), diffID)
	}
}

// ctrTarget is one row of ctr images list: a name and its target digest.
type ctrTarget struct {
	name   string
	digest digest.Digest
}

// dsCtrTarget finds the image named one of names in ctr images list output
// (REF TYPE DIGEST ...), as containerd recorded it.
func dsCtrTarget(t *testing.T, listed string, names ...string) ctrTarget {
	t.Helper()
	for _, line := range strings.Split(listed, "\n") {
		f := strings.Fields(line)
		for _, n := range names {
			if len(f) >= 3 && f[0] == n {
				return ctrTarget{name: n, digest: digest.Digest(f[2])}
			}
		}
	}
	t.Fatalf("ctr images list shows none of %v:\n%s", names, listed)
	return ctrTarget{}
}
