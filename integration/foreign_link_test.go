package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	copypkg "go.podman.io/image/v5/copy"
)

// TestForeignBlobIsNeverHardLinked: uid 65534 (a real process) copies an
// image into its own layout; root copies out of it (which records its blob
// locations in root's blob info cache), then copies an image sharing those
// layers from elsewhere into root's own layout. Linking may reuse the
// other user's blobs only as new inodes of root's, checked: no blob of
// root's layout is the other user's inode, so when that user rewrites its
// files in place afterwards, root's layout still verifies.
func TestForeignBlobIsNeverHardLinked(t *testing.T) {
	needRoot(t)
	base := t.TempDir()
	// uid 65534 must reach the layouts and run the test's binary.
	for _, d := range []string{filepath.Dir(base), base, filepath.Dir(cliPath)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	src := filepath.Join(base, "src")
	writeRandomImage(t, src, "latest", imageSpec{seed: 21, layers: 2, layerSize: 256 << 10})
	if out, err := exec.Command("chmod", "-R", "a+rX", src).CombinedOutput(); err != nil {
		t.Fatalf("chmod: %v %s", err, out)
	}
	theirs, home := filepath.Join(base, "theirs"), filepath.Join(base, "home")
	for _, d := range []string{theirs, home} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	asThem := func(name string, args ...string) {
		t.Helper()
		c := asNobody(name, args...)
		c.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME=", "XDG_RUNTIME_DIR=")
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("as uid 65534: %s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	asThem(cliPath, "copy", "-q", "--insecure-policy", "oci:"+src+":latest", "oci-layout:"+theirs+":app")

	sys := ioSystemContext(t)
	opts := func() *copypkg.Options { return &copypkg.Options{SourceCtx: sys, DestinationCtx: sys} }
	if _, err := ioTryCopy(t, "oci-layout:"+theirs+":app", "dir:"+filepath.Join(base, "out"), opts()); err != nil {
		t.Fatal(err)
	}
	mine := filepath.Join(base, "mine")
	if _, err := ioTryCopy(t, "oci:"+src+":latest", "oci-layout:"+mine+":app", opts()); err != nil {
		t.Fatal(err)
	}

	blobs, err := filepath.Glob(filepath.Join(mine, "blobs", "sha256", "*"))
	if err != nil || len(blobs) == 0 {
		t.Fatalf("no blobs in %s: %v", mine, err)
	}
	var shared []string
	for _, b := range blobs {
		mi, err := os.Stat(b)
		if err != nil {
			t.Fatal(err)
		}
		if uid := mi.Sys().(*syscall.Stat_t).Uid; uid != 0 {
			t.Errorf("blob %s of root's layout belongs to uid %d", filepath.Base(b), uid)
		}
		if ti, err := os.Stat(filepath.Join(theirs, "blobs", "sha256", filepath.Base(b))); err == nil && os.SameFile(mi, ti) {
			shared = append(shared, filepath.Base(b))
		}
	}
	if len(shared) > 0 {
		t.Fatalf("root's layout shares %d inodes with uid 65534's: %v", len(shared), shared)
	}
	// The other user rewrites its own files in place; ours are untouched.
	theirBlobs, _ := filepath.Glob(filepath.Join(theirs, "blobs", "sha256", "*"))
	for _, b := range theirBlobs {
		asThem("sh", "-c", `chmod u+w "$1" && printf EVIL | dd of="$1" bs=1 seek=100 conv=notrunc 2>/dev/null`, "sh", b)
	}
	if out := mustRunCLI(t, "verify", mine); !strings.Contains(out, "sound") || strings.Contains(out, "corrupt") {
		t.Fatalf("verify of root's layout after uid 65534 rewrote its blobs:\n%s", out)
	}
}
