package integration

import (
	"encoding/json"
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

	d := startDockerd(t, "vfs")
	d.ctr(t, "images", "import", "--all-platforms", "--no-unpack", multiTar)
	d.ctr(t, "images", "import", "--no-unpack", singleTar)
	listed := d.ctr(t, "images", "list", "--quiet")
	d.stop(t)
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
	} {
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

	var entries []struct {
		Names []string `json:"names"`
		ID    string   `json:"id"`
		Store string   `json:"store"`
		Size  int64    `json:"size"`
	}
	out := mustRunCLI(t, "list", "--json", "docker-storage:"+ro)
	ioMust(t, json.Unmarshal([]byte(out), &entries), "parsing list output %q", out)
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
}
