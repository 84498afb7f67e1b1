package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/internal/fixture"
	"go.podman.io/image/v5/transports/alltransports"
)

// TestCommitCLIUmoci commits a container of a real vfs store with the
// CLI, in its own process as a user would run it while podman is not
// running: umoci unpacks the result and shows the file the test wrote
// into the container (and not the one it removed), the layout verifies,
// the printed digest is the entry's, and nothing under the store's
// roots changed (path, size, mode, mtime). A mounted container is
// refused with one line saying so.
func TestCommitCLIUmoci(t *testing.T) {
	umoci := ioTool(t, "umoci")
	store, _ := ioStore(t)
	tmp := t.TempDir()
	src, out := filepath.Join(tmp, "src"), filepath.Join(tmp, "out")
	ioWriteImage(t, src, "base", "amd64", []ioLayer{
		{files: map[string]string{"etc/os-release": "ID=commit\n", "etc/remove-me": "removed in the container"}},
		{files: map[string]string{"usr/bin/app": "app"}},
	})
	srcRef, err := alltransports.ParseImageName("oci-layout:" + src + ":base")
	ioMust(t, err, "parsing")
	if _, err := ioCopyRefs(t, srcRef, ioStoreRef(t, store, "localhost/base:1"), nil); err != nil {
		t.Fatalf("copying the base image into the store: %v", err)
	}
	img, err := store.Image("localhost/base:1")
	ioMust(t, err, "looking up the base image")
	c, err := store.CreateContainer("", []string{"web"}, img.ID, "", "", nil)
	ioMust(t, err, "creating a container")
	mnt, err := store.Mount(c.ID, "")
	ioMust(t, err, "mounting the container")
	fixture.WriteFile(t, filepath.Join(mnt, "srv", "state"), []byte("written in the container"))
	ioMust(t, os.Remove(filepath.Join(mnt, "etc", "remove-me")), "removing a file in the container")

	storeFlags := []string{"--storage-root", store.GraphRoot(), "--storage-runroot", store.RunRoot(), "--storage-driver", "vfs"}
	stdout, stderr, err := runCLI(t, append(append([]string{"commit", "-q"}, storeFlags...), "web", "oci-layout:"+out+":web")...)
	if err == nil || !strings.Contains(stderr, "is mounted") || strings.Count(stderr, "\n") != 1 || stdout != "" {
		t.Fatalf("commit of a mounted container: %v, stdout %q, stderr %q; want one line saying it is mounted", err, stdout, stderr)
	}
	_, err = store.Unmount(c.ID, false)
	ioMust(t, err, "unmounting the container")

	before := ioTreeState(t, store.GraphRoot()) + ioTreeState(t, store.RunRoot())
	stdout = mustRunCLI(t, append(append([]string{"commit", "-q", "--author", "ops", "--message", "snapshot", "--change", "CMD /usr/bin/app"}, storeFlags...), "web", "oci-layout:"+out+":web")...)
	if after := ioTreeState(t, store.GraphRoot()) + ioTreeState(t, store.RunRoot()); after != before {
		t.Errorf("commit changed the store:\nbefore\n%s\nafter\n%s", before, after)
	}
	ioVerifyCLI(t, out)
	if got, want := strings.TrimSpace(stdout), ioTag(t, out, "web").String(); got != want {
		t.Errorf("commit printed %q, the layout entry is %s", got, want)
	}

	bundle := filepath.Join(tmp, "bundle")
	ioRun(t, umoci, "unpack", "--image", out+":web", bundle)
	for path, want := range map[string]string{"srv/state": "written in the container", "usr/bin/app": "app", "etc/os-release": "ID=commit\n"} {
		if got, err := os.ReadFile(filepath.Join(bundle, "rootfs", path)); err != nil || string(got) != want {
			t.Errorf("umoci unpack: rootfs/%s = %q (%v), want %q", path, got, err, want)
		}
	}
	if _, err := os.Lstat(filepath.Join(bundle, "rootfs", "etc", "remove-me")); !os.IsNotExist(err) {
		t.Errorf("umoci unpack: rootfs/etc/remove-me, removed in the container, is there (%v)", err)
	}
	cfg := ioReadFile(t, filepath.Join(bundle, "config.json"))
	if !strings.Contains(string(cfg), `"/usr/bin/app"`) {
		t.Errorf("umoci's runtime config does not run the CMD set by --change: %s", cfg)
	}
}
