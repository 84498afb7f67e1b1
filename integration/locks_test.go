package integration

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ocilayout/ocilayout/internal/fixture"
	"go.podman.io/image/v5/transports/alltransports"
)

// needRoot skips a test that needs a real second uid (65534) when not
// root, except under CI=true (CI runs as root), where it fails.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("this test needs root (to run a process as uid 65534), and CI=true")
		}
		t.Skip("needs root to run a process as uid 65534")
	}
}

// asNobody prepares a process running as uid/gid 65534.
func asNobody(name string, args ...string) *exec.Cmd {
	c := exec.Command(name, args...)
	c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	return c
}

// lockLayout makes a layout with one image at dir/L and returns it.
func lockLayout(t *testing.T) (src, dir string) {
	t.Helper()
	base := t.TempDir()
	// Readable by uid 65534 down to the layout: t.TempDir's parent is 0700.
	for _, d := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	src = filepath.Join(base, "src")
	writeRandomImage(t, src, "a", imageSpec{seed: 11, layers: 1, layerSize: 32 << 10})
	dir = filepath.Join(base, "L")
	mustRunCLI(t, "copy", "-q", "--insecure-policy", "oci:"+src+":a", "oci-layout:"+dir+":base")
	return src, dir
}

// waitExit waits at most d for c to exit by itself; a process that needs
// to be killed fails the test.
func waitExit(t *testing.T, c *exec.Cmd, d time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		_ = c.Process.Kill()
		<-done
		t.Fatalf("%s still running %s later: killed", c.Path, d)
		return nil
	}
}

// lineWithin reads a line of r, c's output, failing the test (and killing
// c) if none comes within d.
func lineWithin(t *testing.T, c *exec.Cmd, r *bufio.Reader, d time.Duration) string {
	t.Helper()
	got := make(chan string, 1)
	go func() { l, _ := r.ReadString('\n'); got <- l }()
	select {
	case l := <-got:
		return l
	case <-time.After(d):
		_ = c.Process.Kill()
		t.Fatalf("no line from %s within %s: killed", c.Path, d)
		return ""
	}
}

// TestLockFileSymlinkRefused: a .ocilayout.lock made a symlink to
// index.json (os.Root follows it: each writer locked whatever inode
// index.json was, and concurrent commits lost tags while reporting
// success) makes every write fail with an error naming it, and changes
// nothing.
func TestLockFileSymlinkRefused(t *testing.T) {
	src, dir := lockLayout(t)
	lock := filepath.Join(dir, ".ocilayout.lock")
	if err := os.Remove(lock); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("index.json", lock); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "index.json"))
	var jobs []copyJob
	for _, tag := range []string{"c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8"} {
		jobs = append(jobs, copyJob{"oci:" + src + ":a", "oci-layout:" + dir + ":" + tag})
	}
	for i, err := range runConcurrently(t, jobs) {
		if err == nil || !strings.Contains(err.Error(), ".ocilayout.lock") || !strings.Contains(err.Error(), "symlink") {
			t.Errorf("copy %d: %v, want a failure naming the symlinked .ocilayout.lock", i, err)
		}
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "index.json")); !bytes.Equal(before, after) {
		t.Fatalf("index.json changed:\n%s", after)
	}
}

// TestOtherUserCannotBlockWriters: uid 65534, who can read the layout,
// cannot open its lock files (0600), and holding the lock of a lock file
// an older version left world-readable (0644) blocks no writer: the
// writer replaces it with a 0600 one.
func TestOtherUserCannotBlockWriters(t *testing.T) {
	needRoot(t)
	src, dir := lockLayout(t)
	if err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.IsDir() {
			err = os.Chmod(p, 0o755)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if out, err := asNobody("cat", filepath.Join(dir, "index.json")).CombinedOutput(); err != nil {
		t.Fatalf("uid 65534 cannot read the layout, so the test proves nothing: %v %s", err, out)
	}
	for _, name := range []string{".ocilayout.lock", ".ocilayout-gc.lock", ".ocilayout-gc-gate.lock"} {
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", name, fi.Mode().Perm())
		}
		if out, err := asNobody("sh", "-c", `exec 3<"$1"`, "sh", p).CombinedOutput(); err == nil {
			t.Errorf("uid 65534 opened %s for reading", name)
		} else if !strings.Contains(string(out), "ermission denied") {
			t.Errorf("uid 65534 opening %s: %v %s", name, err, out)
		}
	}
	// What an older version left: lock files others can read. uid 65534
	// opens them while they are; the next write replaces each with a 0600
	// inode, so the lock 65534 then takes on its descriptor stops nobody.
	for _, name := range []string{".ocilayout-gc-gate.lock", ".ocilayout.lock"} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, name)
			if err := os.Chmod(p, 0o644); err != nil {
				t.Fatal(err)
			}
			holder := asNobody("sh", "-c", `exec 3<"$1"; echo opened; read x; flock -x 3; echo held; exec sleep 60`, "sh", p)
			in, err := holder.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			pipe, err := holder.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			out := bufio.NewReader(pipe)
			if err := holder.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = holder.Process.Kill(); _ = holder.Wait() })
			if l, _ := out.ReadString('\n'); l != "opened\n" {
				t.Fatalf("uid 65534 could not open %s: %q", name, l)
			}
			tag := "new" + strings.ReplaceAll(name, ".", "-")
			copyWithin := func(tag string) {
				c := cliCommand(t, "--lock-timeout", "20s", "copy", "-q", "--insecure-policy", "oci:"+src+":a", "oci-layout:"+dir+":"+tag)
				var stderr bytes.Buffer
				c.Stderr = &stderr
				if err := c.Start(); err != nil {
					t.Fatal(err)
				}
				if err := waitExit(t, c, 30*time.Second); err != nil {
					t.Fatalf("copy while uid 65534 has %s open: %v: %s", name, err, stderr.String())
				}
			}
			copyWithin(tag + "-1")
			if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("%s after the copy: %v, %v; want mode 0600", name, fi, err)
			}
			if _, err := in.Write([]byte("go\n")); err != nil {
				t.Fatal(err)
			}
			if l, _ := out.ReadString('\n'); l != "held\n" {
				t.Fatalf("uid 65534 could not lock its descriptor of %s: %q", name, l)
			}
			copyWithin(tag + "-2")
		})
	}
}

// TestLockWaitEndsOnSignalOrTimeout: a command waiting for a lock (here
// the gc gate, held by this test process as a long gc would) says so on
// stderr after a second, stops on SIGINT and on SIGTERM with an error, and
// gives up after --lock-timeout, each within a deadline.
func TestLockWaitEndsOnSignalOrTimeout(t *testing.T) {
	src, dir := lockLayout(t)
	gate, err := os.Open(filepath.Join(dir, ".ocilayout-gc-gate.lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer gate.Close()
	if err := syscall.Flock(int(gate.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	start := func(args ...string) (*exec.Cmd, *bufio.Reader) {
		c := cliCommand(t, append(args, "copy", "-q", "--insecure-policy", "oci:"+src+":a", "oci-layout:"+dir+":new")...)
		pr, err := c.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		return c, bufio.NewReader(pr)
	}
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		c, stderr := start()
		notice := lineWithin(t, c, stderr, 5*time.Second)
		if !strings.Contains(notice, "waiting for a running gc of "+dir) {
			t.Fatalf("first stderr line %q, want the wait notice", notice)
		}
		if err := c.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		rest := new(bytes.Buffer)
		_, _ = rest.ReadFrom(stderr)
		err := waitExit(t, c, 5*time.Second)
		var ee *exec.ExitError
		if !errors.As(err, &ee) || !strings.Contains(rest.String(), "context canceled") {
			t.Fatalf("after %v: %v, stderr %q; want a failure saying the wait was cancelled", sig, err, rest.String())
		}
	}
	c, stderr := start("--lock-timeout", "300ms")
	all := new(bytes.Buffer)
	_, _ = all.ReadFrom(stderr)
	if err := waitExit(t, c, 5*time.Second); err == nil || !strings.Contains(all.String(), "timed out after 300ms") {
		t.Fatalf("--lock-timeout 300ms: %v, stderr %q; want a timeout error", err, all.String())
	}
}

// TestLockTimeoutOfReferrersAttachCommit: referrers (which lists under a
// read lease, so that gc cannot remove a fallback tag it is reading),
// attach and commit (writers) parse their image with the global options,
// so they too give up after --lock-timeout while a gc holds the layout.
func TestLockTimeoutOfReferrersAttachCommit(t *testing.T) {
	_, dir := lockLayout(t)
	store, _ := ioStore(t)
	storeRef := ioStoreRef(t, store, "localhost/base:1")
	baseRef, err := alltransports.ParseImageName("oci-layout:" + dir + ":base")
	ioMust(t, err, "parsing")
	if _, err := ioCopyRefs(t, baseRef, storeRef, nil); err != nil {
		t.Fatalf("copying the base image into the store: %v", err)
	}
	img, err := store.Image("localhost/base:1")
	ioMust(t, err, "looking up the base image")
	_, err = store.CreateContainer("", []string{"web"}, img.ID, "", "", nil)
	ioMust(t, err, "creating a container")
	payload := filepath.Join(t.TempDir(), "sbom.json")
	fixture.WriteFile(t, payload, []byte(`{}`))

	gate, err := os.Open(filepath.Join(dir, ".ocilayout-gc-gate.lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer gate.Close()
	if err := syscall.Flock(int(gate.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"referrers", []string{"referrers", "oci-layout:" + dir + ":base"}},
		{"attach", []string{"attach", "--artifact-type", "application/spdx+json", "oci-layout:" + dir + ":base", payload}},
		{"commit", []string{"commit", "-q", "--storage-root", store.GraphRoot(), "--storage-runroot", store.RunRoot(), "--storage-driver", "vfs", "web", "oci-layout:" + dir + ":web"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cliCommand(t, append([]string{"--lock-timeout", "300ms"}, tc.args...)...)
			var stderr bytes.Buffer
			c.Stderr = &stderr
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			if err := waitExit(t, c, 10*time.Second); err == nil || !strings.Contains(stderr.String(), "timed out after 300ms") {
				t.Fatalf("%s --lock-timeout 300ms while gc holds the layout: %v, stderr %q; want a timeout error", tc.name, err, stderr.String())
			}
		})
	}
}
