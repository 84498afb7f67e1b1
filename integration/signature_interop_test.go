package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/internal/layouttest"
	"github.com/ocilayout/ocilayout/simplesign"

	"github.com/ocilayout/ocilayout/internal/fixture"
	"github.com/ocilayout/ocilayout/layout"
)

// gpgHome is a throwaway GnuPG home with one signing key made by gpg
// itself; it returns the home, the key's fingerprint and its armored
// public and secret key files.
func gpgHome(t *testing.T, gpg string) (home, fpr, public, secret string) {
	t.Helper()
	home = t.TempDir()
	if err := os.Chmod(home, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exec.Command("gpgconf", "--homedir", home, "--kill", "gpg-agent").Run() })
	run := func(args ...string) []byte {
		t.Helper()
		out, err := exec.Command(gpg, append([]string{"--homedir", home, "--batch"}, args...)...).Output()
		if err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				t.Fatalf("gpg %v: %v: %s", args, err, ee.Stderr)
			}
			t.Fatal(err)
		}
		return out
	}
	run("--passphrase", "", "--quick-gen-key", "Interop Signer <interop@example.com>", "ed25519", "sign", "never")
	for _, line := range strings.Split(string(run("--with-colons", "--list-keys")), "\n") {
		if f := strings.Split(line, ":"); f[0] == "fpr" && len(f) > 9 {
			fpr = f[9]
			break
		}
	}
	public, secret = filepath.Join(home, "public.asc"), filepath.Join(home, "secret.asc")
	fixture.WriteFile(t, public, run("--armor", "--export", fpr))
	fixture.WriteFile(t, secret, run("--armor", "--pinentry-mode", "loopback", "--passphrase", "", "--export-secret-keys", fpr))
	return home, fpr, public, secret
}

// signatureBlob returns the path of the first stored signature of the
// image named signedName in dir.
func signatureBlob(t *testing.T, dir string) string {
	t.Helper()
	ctx := context.Background()
	l, err := layout.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	idx, _ := l.Index(ctx)
	for _, e := range idx.Manifests {
		if e.ArtifactType != simplesign.ArtifactType {
			continue
		}
		m, err := layouttest.ReadManifest(l, ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		d := m.Layers[0].Digest
		return filepath.Join(dir, "blobs", d.Algorithm().String(), d.Encoded())
	}
	t.Fatalf("no signature artifact in %s", dir)
	return ""
}

// TestInteropSignatures: signatures cross between ocilayout and the real
// GnuPG and skopeo (gpgme): a key made by gpg signs with ocilayout sign
// and the stored bytes verify with gpg --verify and skopeo
// standalone-verify; a signature made by skopeo standalone-sign enters a
// layout through dir: and verifies under policy; umoci gc keeps them.
func TestInteropSignatures(t *testing.T) {
	gpg, skopeo, umoci := ioTool(t, "gpg"), ioTool(t, "skopeo"), ioTool(t, "umoci")
	home, fpr, public, secret := gpgHome(t, gpg)
	env := append(os.Environ(), "GNUPGHOME="+home)
	tool := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", filepath.Base(name), args, err, out)
		}
		return string(out)
	}

	a := filepath.Join(t.TempDir(), "a")
	writeRandomImage(t, a, signedName, imageSpec{seed: 91, layers: 1, layerSize: 4 << 10})
	mustRunCLI(t, "sign", "--key", secret, "--identity", signedName, "oci-layout:"+a+":"+signedName)
	sig := signatureBlob(t, a)
	if out := tool(gpg, "--homedir", home, "--batch", "--verify", sig); !strings.Contains(out, "Good signature") {
		t.Fatalf("gpg --verify: %s", out)
	}
	l, err := layout.Open(a)
	if err != nil {
		t.Fatal(err)
	}
	idx, _ := l.Index(context.Background())
	desc, err := l.Resolve(context.Background(), idx, layout.Selector{})
	if err != nil {
		t.Fatal(err)
	}
	mp := filepath.Join("blobs", desc.Digest.Algorithm().String(), desc.Digest.Encoded())
	l.Close()
	if out := tool(skopeo, "standalone-verify", filepath.Join(a, mp), signedName, fpr, sig); !strings.Contains(out, "Signature verified") {
		t.Fatalf("skopeo standalone-verify: %s", out)
	}

	key := testKey{publicPath: public}
	d := t.TempDir()
	if err := copyIn(t, acceptAnything(t), "oci-layout:"+a+":"+signedName, "dir:"+d, nil, true); err != nil {
		t.Fatal(err)
	}
	tool(skopeo, "standalone-sign", filepath.Join(d, "manifest.json"), signedName, fpr, "-o", filepath.Join(d, "signature-1"))
	b := filepath.Join(t.TempDir(), "b")
	if err := copyIn(t, acceptAnything(t), "dir:"+d, "oci-layout:"+b+":"+signedName, nil, false); err != nil {
		t.Fatal(err)
	}
	if err := copyIn(t, policyFor(t, b, signedByPath(key)), "oci-layout:"+b+":"+signedName, "dir:"+t.TempDir(), nil, false); err != nil {
		t.Fatalf("skopeo's signature, stored by oci-layout, refused: %v", err)
	}

	tool(umoci, "gc", "--layout", b)
	if got := signaturesOf(t, "oci-layout:"+b+":"+signedName, nil); len(got) != 1 {
		t.Fatalf("after umoci gc the image has %d signatures, want 1", len(got))
	}
	checkLayout(t, b)
}
