package integration

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"golang.org/x/crypto/bcrypt"
)

// serveProcess is an `ocilayout serve` process of a test.
type serveProcess struct {
	addr string // host:port it listens on
	mu   sync.Mutex
	log  bytes.Buffer // its stderr: the access log
}

func (p *serveProcess) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// startServe runs `ocilayout serve --listen 127.0.0.1:0 FLAGS DIR` and
// returns once it listens. At the end of the test it is stopped with
// SIGTERM, which must make it exit 0 after saying so.
func startServe(t *testing.T, dir string, flags ...string) *serveProcess {
	t.Helper()
	args := append(append([]string{"serve", "--listen", "127.0.0.1:0"}, flags...), dir)
	cmd := cliCommand(t, args...)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serveProcess{}
	first := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(pipe)
		sent := false
		for sc.Scan() {
			p.mu.Lock()
			p.log.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if !sent {
				first <- sc.Text()
				sent = true
			}
		}
		if !sent {
			close(first)
		}
	}()
	select {
	case line, ok := <-first:
		_, rest, found := strings.Cut(line, "://")
		if !ok || !found {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("ocilayout serve did not start: %q", line)
		}
		p.addr, _, _ = strings.Cut(rest, " ")
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("ocilayout serve did not start within 30 s")
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-copied
		if err := cmd.Wait(); err != nil {
			t.Errorf("ocilayout serve after SIGTERM: %v\n%s", err, p.stderr())
		} else if !strings.Contains(p.stderr(), "ocilayout serve: stopped") {
			t.Errorf("ocilayout serve did not report a graceful stop:\n%s", p.stderr())
		}
	})
	return p
}

// serveLayout makes a layout the way a user would: images written by
// other tools, copied in with ocilayout copy under a registry-qualified
// name (as `ocilayout sync` names them) and a bare tag. It returns the
// layout and the digests by name.
func serveLayout(t *testing.T) (string, map[string]digest.Digest) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src")
	writeRandomImage(t, src, "a", imageSpec{seed: 1, layers: 3, layerSize: 300 << 10})
	writeRandomImage(t, src, "b", imageSpec{seed: 2, layers: 2, layerSize: 100 << 10, arch: "arm64"})
	dst := filepath.Join(t.TempDir(), "images")
	ioCopyCLI(t, "oci:"+src+":a", "oci-layout:"+dst+":quay.io/ns/app:v1", "--preserve-digests")
	ioCopyCLI(t, "oci:"+src+":b", "oci-layout:"+dst+":v2", "--preserve-digests")
	return dst, map[string]digest.Digest{"ns/app:v1": ioTag(t, dst, "quay.io/ns/app:v1"), "images:v2": ioTag(t, dst, "v2")}
}

// checkDirImage checks a dir: image: its manifest has digest want, and
// every blob file's content has the digest its name says.
func checkDirImage(t *testing.T, dir string, want digest.Digest) {
	t.Helper()
	if got := "sha256:" + ioSHA256File(t, filepath.Join(dir, "manifest.json")); got != want.String() {
		t.Errorf("%s: manifest digest %s, want %s", dir, got, want)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	blobs := 0
	for _, e := range entries {
		if e.Name() == "manifest.json" || e.Name() == "version" {
			continue
		}
		blobs++
		if got := ioSHA256File(t, filepath.Join(dir, e.Name())); got != e.Name() {
			t.Errorf("%s/%s: content has sha256 %s", dir, e.Name(), got)
		}
	}
	if blobs < 2 {
		t.Errorf("%s: %d blobs, want the config and layers", dir, blobs)
	}
}

// Debian's skopeo pulls from ocilayout serve by tag, by the bare tag's
// repository and by digest, and lists tags; every digest is checked.
func TestInteropServeSkopeo(t *testing.T) {
	skopeo := ioTool(t, "skopeo")
	dir, want := serveLayout(t)
	srv := startServe(t, dir)
	for ref, d := range want {
		for _, src := range []string{ref, strings.SplitN(ref, ":", 2)[0] + "@" + d.String()} {
			out := filepath.Join(t.TempDir(), "out")
			ioRun(t, skopeo, "copy", "--src-tls-verify=false", "docker://"+srv.addr+"/"+src, "dir:"+out)
			checkDirImage(t, out, d)
		}
		var insp struct{ Digest string }
		raw := ioRun(t, skopeo, "inspect", "--tls-verify=false", "docker://"+srv.addr+"/"+ref)
		if err := json.Unmarshal([]byte(raw), &insp); err != nil || insp.Digest != d.String() {
			t.Errorf("skopeo inspect %s: digest %q, want %s (%v)", ref, insp.Digest, d, err)
		}
	}
	tags := ioRun(t, skopeo, "list-tags", "--tls-verify=false", "docker://"+srv.addr+"/ns/app")
	if !strings.Contains(tags, `"v1"`) {
		t.Errorf("skopeo list-tags: %s", tags)
	}
	if !strings.Contains(srv.stderr(), `"GET /v2/ns/app/manifests/v1 HTTP/1.1" 200`) {
		t.Errorf("no access log line for the pull:\n%s", srv.stderr())
	}
}

// ioGoTool finds a Go tool that make tools installs into bin/ (or one on
// PATH); missing, it skips, or fails under CI=true.
func ioGoTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := filepath.Abs(filepath.Join("..", "bin", name)); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ioTool(t, name)
}

// crane (go-containerregistry) pulls from a read-only serve and copies
// into a push-enabled one; the pushed layout verifies and names the image
// as it was pushed.
func TestInteropServeCrane(t *testing.T) {
	crane := ioGoTool(t, "crane")
	dir, want := serveLayout(t)
	ro := startServe(t, dir)
	pushDir := filepath.Join(t.TempDir(), "pushed")
	rw := startServe(t, pushDir, "--allow-push")

	for ref, d := range want {
		if got := strings.TrimSpace(ioRun(t, crane, "digest", "--insecure", ro.addr+"/"+ref)); got != d.String() {
			t.Errorf("crane digest %s: %s, want %s", ref, got, d)
		}
		if got := digest.FromString(ioRun(t, crane, "manifest", "--insecure", ro.addr+"/"+ref)); got != d {
			t.Errorf("crane manifest %s has digest %s, want %s", ref, got, d)
		}
	}
	if got := ioRun(t, crane, "catalog", "--insecure", ro.addr); got != "images\nns/app\n" {
		t.Errorf("crane catalog: %q", got)
	}
	// Pull as an OCI layout and check it with our verifier.
	pulled := filepath.Join(t.TempDir(), "pulled")
	ioRun(t, crane, "pull", "--insecure", "--format", "oci", ro.addr+"/ns/app:v1", pulled)
	if err := verifyLayout(t.Context(), pulled); err != nil {
		t.Errorf("crane pull: %v", err)
	}
	// Push: crane copy between the two servers, then a tag and a delete.
	ioRun(t, crane, "copy", "--insecure", ro.addr+"/ns/app:v1", rw.addr+"/copied/app:v1")
	ioRun(t, crane, "tag", "--insecure", rw.addr+"/copied/app:v1", "v1.1")
	tags := tagsOf(t, checkLayout(t, pushDir))
	if tags["copied/app:v1"] != want["ns/app:v1"] || tags["copied/app:v1.1"] != want["ns/app:v1"] {
		t.Errorf("pushed layout names %v, want copied/app:v1 and :v1.1 at %s", tags, want["ns/app:v1"])
	}
	ioVerifyCLI(t, pushDir)
	ioRun(t, crane, "delete", "--insecure", rw.addr+"/copied/app:v1.1")
	if _, ok := tagsOf(t, checkLayout(t, pushDir))["copied/app:v1.1"]; ok {
		t.Error("crane delete left the tag")
	}
	if got := ioRun(t, crane, "ls", "--insecure", rw.addr+"/copied/app"); got != "v1\n" {
		t.Errorf("crane ls after delete: %q", got)
	}
}

// Basic auth with read-only and read-write users, checked with skopeo.
func TestInteropServeAuth(t *testing.T) {
	skopeo := ioTool(t, "skopeo")
	dir, want := serveLayout(t)
	readers := writeHtpasswdFile(t, "reader", "rpass")
	writers := writeHtpasswdFile(t, "writer", "wpass")
	srv := startServe(t, dir, "--allow-push", "--htpasswd", readers, "--htpasswd-rw", writers)
	src := "docker://" + srv.addr + "/ns/app:v1"
	out := filepath.Join(t.TempDir(), "out")
	if msg, err := ioTryRun(t, skopeo, "copy", "--src-tls-verify=false", src, "dir:"+out); err == nil {
		t.Error("anonymous pull succeeded")
	} else if !strings.Contains(strings.ToLower(msg), "unauthorized") && !strings.Contains(msg, "401") {
		t.Errorf("anonymous pull failed for another reason: %s", msg)
	}
	ioRun(t, skopeo, "copy", "--src-tls-verify=false", "--src-creds", "reader:rpass", src, "dir:"+out)
	checkDirImage(t, out, want["ns/app:v1"])
	dst := "docker://" + srv.addr + "/pushed/app:v1"
	if msg, err := ioTryRun(t, skopeo, "copy", "--dest-tls-verify=false", "--dest-creds", "reader:rpass", "dir:"+out, dst); err == nil {
		t.Error("a read-only user pushed")
	} else if !strings.Contains(strings.ToLower(msg), "denied") && !strings.Contains(msg, "403") {
		t.Errorf("read-only push failed for another reason: %s", msg)
	}
	ioRun(t, skopeo, "copy", "--dest-tls-verify=false", "--dest-creds", "writer:wpass", "dir:"+out, dst)
	if got := tagsOf(t, checkLayout(t, dir))["pushed/app:v1"]; got != want["ns/app:v1"] {
		t.Errorf("pushed/app:v1 is %q, want %s", got, want["ns/app:v1"])
	}
}

func writeHtpasswdFile(t *testing.T, user, pass string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), user+".htpasswd")
	if err := os.WriteFile(p, []byte(user+":"+string(h)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Push is refused without auth on an address that is not loopback.
func TestServeRefusesOpenPush(t *testing.T) {
	_, stderr, err := runCLI(t, "serve", "--allow-push", "--listen", "0.0.0.0:0", t.TempDir())
	var ee *exec.ExitError
	if err == nil || !asExit(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(stderr, "--htpasswd-rw") {
		t.Fatalf("serve --allow-push on 0.0.0.0: %v %q", err, stderr)
	}
}

func asExit(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	*ee = e
	return ok
}

// --tls-cert/--tls-key: skopeo pulls over HTTPS (a self-signed
// certificate made here; skopeo told not to verify it) and plain HTTP is
// not answered as a registry.
func TestInteropServeTLS(t *testing.T) {
	skopeo := ioTool(t, "skopeo")
	dir, want := serveLayout(t)
	cert, key := writeSelfSigned(t)
	srv := startServe(t, dir, "--tls-cert", cert, "--tls-key", key)
	if !strings.Contains(srv.stderr(), "on https://") {
		t.Fatalf("serve did not announce https:\n%s", srv.stderr())
	}
	out := filepath.Join(t.TempDir(), "out")
	ioRun(t, skopeo, "copy", "--src-tls-verify=false", "docker://"+srv.addr+"/ns/app:v1", "dir:"+out)
	checkDirImage(t, out, want["ns/app:v1"])
	resp, err := http.Get("http://" + srv.addr + "/v2/")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP answered 200 on a TLS listener")
		}
	}
}

// writeSelfSigned writes a self-signed certificate for 127.0.0.1 and its key.
func writeSelfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ioMust(t, err, "generating a key")
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "ocilayout serve test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	ioMust(t, err, "making a certificate")
	kder, err := x509.MarshalECPrivateKey(key)
	ioMust(t, err, "encoding the key")
	d := t.TempDir()
	certFile, keyFile = filepath.Join(d, "cert.pem"), filepath.Join(d, "key.pem")
	ioMust(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600), "writing the certificate")
	ioMust(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600), "writing the key")
	return certFile, keyFile
}
