package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dockerDaemon is a real dockerd started by a test, with everything it
// owns (data root, exec root, socket, pidfile) in the test's temp dir and
// no networking: images only arrive by docker load.
type dockerDaemon struct {
	dataRoot string
	execRoot string
	sock     string
	cmd      *exec.Cmd
	log      *bytes.Buffer
	client   *http.Client
	exited   chan error
	stopped  bool
}

// startDockerd starts dockerd with the given storage driver and extra
// flags and waits until it tells systemd's notify socket it is ready
// (dockerd sends READY=1 to $NOTIFY_SOCKET once its API serves), so that
// no polling or sleeping is needed. It needs root; without root or
// dockerd the test skips, except under CI=true, where it fails.
func startDockerd(t *testing.T, driver string, extra ...string) *dockerDaemon {
	t.Helper()
	bin := ioTool(t, "dockerd")
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("dockerd needs root (CI=true, so this is a failure)")
		}
		t.Skip("dockerd needs root")
	}
	// Socket paths are limited to 108 bytes; t.TempDir can be longer.
	tmp, err := os.MkdirTemp("", "dsd")
	ioMust(t, err, "making a temp dir")
	t.Cleanup(func() { os.RemoveAll(tmp) })
	d := &dockerDaemon{
		dataRoot: filepath.Join(tmp, "root"),
		execRoot: filepath.Join(tmp, "exec"),
		sock:     filepath.Join(tmp, "docker.sock"),
		log:      &bytes.Buffer{},
		exited:   make(chan error, 1),
	}
	notify := filepath.Join(tmp, "notify.sock")
	nconn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notify, Net: "unixgram"})
	ioMust(t, err, "listening on %s", notify)
	defer nconn.Close()

	args := append([]string{
		"--data-root", d.dataRoot,
		"--exec-root", d.execRoot,
		"--pidfile", filepath.Join(tmp, "docker.pid"),
		"-H", "unix://" + d.sock,
		"--storage-driver", driver,
		"--iptables=false", "--ip6tables=false", "--bridge=none",
		"--config-file", writeDaemonJSON(t, tmp),
	}, extra...)
	d.cmd = exec.Command(bin, args...)
	d.cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+notify)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	ioMust(t, d.cmd.Start(), "starting %s", bin)
	go func() { d.exited <- d.cmd.Wait() }()
	t.Cleanup(func() { d.stop(t) })

	ready := make(chan error, 1)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, _, err := nconn.ReadFromUnix(buf)
			if err != nil {
				ready <- err
				return
			}
			if strings.Contains(string(buf[:n]), "READY=1") {
				ready <- nil
				return
			}
		}
	}()
	select {
	case err := <-ready:
		ioMust(t, err, "waiting for dockerd to be ready")
	case err := <-d.exited:
		d.exited <- err
		t.Fatalf("dockerd --storage-driver %s exited before it was ready: %v\n%s", driver, err, d.log)
	case <-time.After(2 * time.Minute):
		t.Fatalf("dockerd --storage-driver %s not ready after 2 minutes\n%s", driver, d.log)
	}
	d.client = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", d.sock)
		},
	}}
	return d
}

// writeDaemonJSON writes an empty daemon config, so that the host's
// /etc/docker/daemon.json cannot change the daemon under test.
func writeDaemonJSON(t *testing.T, dir string) string {
	p := filepath.Join(dir, "daemon.json")
	ioMust(t, os.WriteFile(p, []byte("{}\n"), 0o644), "writing %s", p)
	return p
}

// load runs the Engine API's docker load (POST /images/load) on a
// docker-archive tarball, failing the test on any error it reports.
func (d *dockerDaemon) load(t *testing.T, archive string) {
	t.Helper()
	f, err := os.Open(archive)
	ioMust(t, err, "opening %s", archive)
	defer f.Close()
	resp, err := d.client.Post("http://docker/images/load", "application/x-tar", f)
	ioMust(t, err, "docker load %s", archive)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || bytes.Contains(body, []byte(`"error"`)) {
		t.Fatalf("docker load %s: %s: %s", archive, resp.Status, body)
	}
}

// dockerImage is what the Engine API reports of an image (GET /images/json).
type dockerImage struct {
	ID       string   `json:"Id"`
	RepoTags []string `json:"RepoTags"`
	Size     int64    `json:"Size"`
}

func (d *dockerDaemon) images(t *testing.T) []dockerImage {
	t.Helper()
	resp, err := d.client.Get("http://docker/images/json")
	ioMust(t, err, "listing images")
	defer resp.Body.Close()
	var out []dockerImage
	ioMust(t, json.NewDecoder(bufio.NewReader(resp.Body)).Decode(&out), "decoding GET /images/json")
	return out
}

// stop ends dockerd with SIGTERM, as systemd would, and waits for it (its
// managed containerd exits with it), so that the store is at rest before
// a test reads it.
func (d *dockerDaemon) stop(t *testing.T) {
	if d.stopped {
		return
	}
	d.stopped = true
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.exited:
		d.exited <- err
	case <-time.After(time.Minute):
		d.cmd.Process.Kill()
		err := <-d.exited
		d.exited <- err
		t.Errorf("dockerd did not stop within a minute of SIGTERM\n%s", d.log)
	}
}

// ctr runs containerd's own client against the daemon's managed
// containerd, in the namespace Docker keeps its images in.
func (d *dockerDaemon) ctr(t *testing.T, args ...string) string {
	t.Helper()
	bin := ioTool(t, "ctr")
	sock := filepath.Join(d.execRoot, "containerd", "containerd.sock")
	if _, err := os.Stat(sock); err != nil {
		// dockerd starts its own containerd only when no system one
		// answers on /run/containerd/containerd.sock.
		t.Fatalf("dockerd started no managed containerd (%v): is a system containerd running? This test needs dockerd's own, whose store is under its data root", err)
	}
	return ioRun(t, bin, append([]string{"--address", sock, "--namespace", "moby"}, args...)...)
}

// String is for failure messages.
func (d *dockerDaemon) String() string { return fmt.Sprintf("dockerd(%s)", d.dataRoot) }
