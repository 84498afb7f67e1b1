package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/internal/layouttest"
	"github.com/ocilayout/ocilayout/simplesign"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/ocilayout/ocilayout/internal/fixture"
	"github.com/ocilayout/ocilayout/layout"
	_ "github.com/ocilayout/ocilayout/transport"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/transports/alltransports"
	"go.podman.io/image/v5/types"
)

// signedName is a fully qualified Docker reference used as the layout
// NAME, so that the reference's DockerReference() is non-nil and policy
// signedIdentity matchers can compare against it.
const signedName = "registry.example.com/ns/app:v1"

// testKey is an OpenPGP key pair made for one test run; no private key is
// checked in.
type testKey struct {
	secretPath  string // armored secret key file (for ocilayout sign)
	publicPath  string // armored public key file (for policy keyPath)
	public      []byte // the same, for policy keyData
	fingerprint string
	keyID       string // short key id as containers/image prints it
}

func newTestKey(t *testing.T, name, passphrase string) testKey {
	t.Helper()
	e, err := openpgp.NewEntity(name, "ocilayout test key", strings.ToLower(strings.ReplaceAll(name, " ", "."))+"@example.com",
		&packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	armored := func(blockType string, write func(w *bytes.Buffer) error) []byte {
		var raw, out bytes.Buffer
		if err := write(&raw); err != nil {
			t.Fatal(err)
		}
		w, err := armor.Encode(&out, blockType, nil)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(raw.Bytes())
		w.Close()
		return out.Bytes()
	}
	pub := armored(openpgp.PublicKeyType, func(w *bytes.Buffer) error { return e.Serialize(w) })
	if passphrase != "" {
		if err := e.EncryptPrivateKeys([]byte(passphrase), nil); err != nil {
			t.Fatal(err)
		}
	}
	sec := armored(openpgp.PrivateKeyType, func(w *bytes.Buffer) error { return e.SerializePrivateWithoutSigning(w, nil) })
	k := testKey{
		secretPath:  filepath.Join(dir, "secret.asc"),
		publicPath:  filepath.Join(dir, "public.asc"),
		public:      pub,
		fingerprint: fmt.Sprintf("%X", e.PrimaryKey.Fingerprint),
		keyID:       fmt.Sprintf("%016X", e.PrimaryKey.KeyId),
	}
	fixture.WriteFile(t, k.secretPath, sec)
	fixture.WriteFile(t, k.publicPath, pub)
	return k
}

// signedLayout writes a fresh image into a new layout under signedName and
// signs it with key through the CLI. It returns the layout directory.
func signedLayout(t *testing.T, key testKey, seed uint64) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "signed")
	writeRandomImage(t, dir, signedName, imageSpec{seed: seed, layers: 1, layerSize: 4 << 10})
	mustRunCLI(t, "sign", "--key", key.secretPath, "--identity", signedName, "oci-layout:"+dir+":"+signedName)
	return dir
}

// policyFor returns a policy that rejects everything except oci-layout
// images in dir, which must carry a signature accepted by req, and any
// dir: or docker:// source (the tests verify layouts, not those).
func policyFor(t *testing.T, dir string, req map[string]any) *signature.Policy {
	t.Helper()
	anything := []map[string]any{{"type": "insecureAcceptAnything"}}
	doc := map[string]any{
		"default": []map[string]any{{"type": "reject"}},
		"transports": map[string]any{
			"oci-layout": map[string]any{dir: []map[string]any{req}},
			"dir":        map[string]any{"": anything},
			"docker":     map[string]any{"": anything},
		},
	}
	p, err := signature.NewPolicyFromBytes(fixture.MustJSON(t, doc))
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	return p
}

func acceptAnything(t *testing.T) *signature.Policy {
	return &signature.Policy{Default: signature.PolicyRequirements{signature.NewPRInsecureAcceptAnything()}}
}

// copyIn runs copy.Image in-process from src to dst under policy.
func copyIn(t *testing.T, policy *signature.Policy, src, dst string, sys *types.SystemContext, removeSignatures bool) error {
	t.Helper()
	pc, err := signature.NewPolicyContext(policy)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Destroy()
	srcRef, err := alltransports.ParseImageName(src)
	if err != nil {
		t.Fatal(err)
	}
	dstRef, err := alltransports.ParseImageName(dst)
	if err != nil {
		t.Fatal(err)
	}
	_, err = copy.Image(context.Background(), pc, dstRef, srcRef, &copy.Options{
		SourceCtx: sys, DestinationCtx: sys, RemoveSignatures: removeSignatures,
	})
	return err
}

// signaturesOf returns the signatures an image source reports.
func signaturesOf(t *testing.T, ref string, sys *types.SystemContext) [][]byte {
	t.Helper()
	r, err := alltransports.ParseImageName(ref)
	if err != nil {
		t.Fatal(err)
	}
	src, err := r.NewImageSource(context.Background(), sys)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	sigs, err := src.GetSignatures(context.Background(), nil)
	if err != nil {
		t.Fatalf("signatures of %s: %v", ref, err)
	}
	return sigs
}

func signedByPath(k testKey) map[string]any {
	return map[string]any{"type": "signedBy", "keyType": "GPGKeys", "keyPath": k.publicPath}
}

// TestSignCopyVerify: sign in a layout, see it in inspect, carry it to
// another layout (twice, without duplicates), verify it there with keyPath
// and keyData policies including an identity matcher that needs
// DockerReference(), and drop it with --remove-signatures.
func TestSignCopyVerify(t *testing.T) {
	key := newTestKey(t, "Release Signer", "s3cret")
	dir := filepath.Join(t.TempDir(), "a")
	writeRandomImage(t, dir, signedName, imageSpec{seed: 41, layers: 1, layerSize: 4 << 10})
	src := "oci-layout:" + dir + ":" + signedName
	pass := filepath.Join(t.TempDir(), "pass")
	fixture.WriteFile(t, pass, []byte("s3cret\n"))
	if _, stderr, err := runCLI(t, "sign", "--key", key.secretPath, "--identity", signedName, src); err == nil || !strings.Contains(stderr, "passphrase") {
		t.Fatalf("sign with a protected key and no passphrase: err %v, stderr %q", err, stderr)
	}
	mustRunCLI(t, "sign", "--key", key.secretPath, "--passphrase-file", pass, "--identity", signedName, src)

	var out struct {
		Signatures []struct{ KeyID, Identity string }
	}
	if err := json.Unmarshal([]byte(mustRunCLI(t, "inspect", src)), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Signatures) != 1 || out.Signatures[0].KeyID != key.keyID || out.Signatures[0].Identity != signedName {
		t.Fatalf("inspect Signatures = %+v, want key %s identity %s", out.Signatures, key.keyID, signedName)
	}
	want := signaturesOf(t, src, nil)

	dst := filepath.Join(t.TempDir(), "b")
	for range 2 {
		if err := copyIn(t, policyFor(t, dir, signedByPath(key)), src, "oci-layout:"+dst+":"+signedName, nil, false); err != nil {
			t.Fatalf("signed copy refused: %v", err)
		}
	}
	if got := signaturesOf(t, "oci-layout:"+dst+":"+signedName, nil); !slices.EqualFunc(got, want, bytes.Equal) {
		t.Fatalf("after two copies the destination has %d signatures, want the source's %d", len(got), len(want))
	}
	byData := map[string]any{"type": "signedBy", "keyType": "GPGKeys", "keyData": key.public,
		"signedIdentity": map[string]any{"type": "matchRepository"}}
	if err := copyIn(t, policyFor(t, dst, byData), "oci-layout:"+dst+":"+signedName, "dir:"+t.TempDir(), nil, false); err != nil {
		t.Fatalf("keyData + matchRepository refused the copied image: %v", err)
	}

	stripped := filepath.Join(t.TempDir(), "c")
	if err := copyIn(t, acceptAnything(t), src, "oci-layout:"+stripped+":"+signedName, nil, true); err != nil {
		t.Fatal(err)
	}
	if got := signaturesOf(t, "oci-layout:"+stripped+":"+signedName, nil); len(got) != 0 {
		t.Fatalf("--remove-signatures left %d signatures", len(got))
	}
	err := copyIn(t, policyFor(t, stripped, signedByPath(key)), "oci-layout:"+stripped+":"+signedName, "dir:"+t.TempDir(), nil, false)
	expectPolicyRejection(t, err, "no signature exists")
	checkLayout(t, dst)
}

func expectPolicyRejection(t *testing.T, err error, want string) {
	t.Helper()
	// copy.Image wraps the policy's verdict as "Source image rejected";
	// with one signature the verdict is that signature's own error (an
	// InvalidSignatureError or an OpenPGP error), with several a
	// PolicyRequirementError listing them.
	var pre signature.PolicyRequirementError
	var ise signature.InvalidSignatureError
	if err == nil || !strings.HasPrefix(err.Error(), "Source image rejected: ") || !strings.Contains(err.Error(), want) {
		t.Fatalf("copy error = %v; want containers/image's rejection containing %q", err, want)
	}
	if want != "openpgp:" && !errors.As(err, &pre) && !errors.As(err, &ise) {
		t.Fatalf("copy error %v (%T) is neither a PolicyRequirementError nor an InvalidSignatureError", err, errors.Unwrap(err))
	}
}

// TestPolicyRejections: containers/image's own checks refuse what a
// signature does not cover.
func TestPolicyRejections(t *testing.T) {
	key := newTestKey(t, "Release Signer", "")
	other := newTestKey(t, "Someone Else", "")
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, l *layout.Layout, desc imgspecv1.Descriptor, sigs [][]byte)
		req    map[string]any
		want   string
	}{
		{name: "tampered manifest", tamper: func(t *testing.T, l *layout.Layout, desc imgspecv1.Descriptor, sigs [][]byte) {
			m, err := l.ReadBlob(ctx, desc.Digest, desc.Size)
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			json.Unmarshal(m, &doc)
			doc["annotations"] = map[string]string{"tampered": "yes"}
			nm := fixture.MustJSON(t, doc)
			d, err := layouttest.PutBytes(l, ctx, nm)
			if err != nil {
				t.Fatal(err)
			}
			nd := imgspecv1.Descriptor{MediaType: desc.MediaType, Digest: d, Size: int64(len(nm))}
			if err := layouttest.Tag(l, ctx, nd, signedName); err != nil {
				t.Fatal(err)
			}
			if err := simplesign.Add(ctx, l, nd, sigs); err != nil {
				t.Fatal(err)
			}
		}, req: signedByPath(key), want: "does not match"},
		{name: "tampered signature", tamper: func(t *testing.T, l *layout.Layout, desc imgspecv1.Descriptor, sigs [][]byte) {
			bad := bytes.Clone(sigs[0])
			bad[len(bad)/2] ^= 0x20
			if err := simplesign.Add(ctx, l, desc, [][]byte{bad}); err != nil {
				t.Fatal(err)
			}
		}, req: signedByPath(key), want: "openpgp:"},
		{name: "wrong key", req: signedByPath(other), want: "Key not found for key ID"},
		{name: "wrong identity", req: map[string]any{"type": "signedBy", "keyType": "GPGKeys", "keyPath": key.publicPath,
			"signedIdentity": map[string]any{"type": "exactRepository", "dockerRepository": "registry.example.com/ns/other"}},
			want: "is not accepted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := signedLayout(t, key, 51)
			if tc.tamper != nil {
				// The tampered copy lives in its own layout, with only the
				// tampered signature, so the good one cannot rescue it.
				orig := signaturesOf(t, "oci-layout:"+dir+":"+signedName, nil)
				tdir := filepath.Join(t.TempDir(), "tampered")
				if err := copyIn(t, acceptAnything(t), "oci-layout:"+dir+":"+signedName, "oci-layout:"+tdir+":"+signedName, nil, true); err != nil {
					t.Fatal(err)
				}
				l, err := layout.Open(tdir)
				if err != nil {
					t.Fatal(err)
				}
				idx, _ := l.Index(ctx)
				desc, err := l.Resolve(ctx, idx, layout.Selector{})
				if err != nil {
					t.Fatal(err)
				}
				tc.tamper(t, l, desc, orig)
				l.Close()
				dir = tdir
			}
			err := copyIn(t, policyFor(t, dir, tc.req), "oci-layout:"+dir+":"+signedName, "dir:"+t.TempDir(), nil, false)
			expectPolicyRejection(t, err, tc.want)
		})
	}
}

// TestSignUsageErrors: bad sign command lines fail with a message naming
// the bad input.
func TestSignUsageErrors(t *testing.T) {
	key := newTestKey(t, "Release Signer", "")
	dir := filepath.Join(t.TempDir(), "l")
	writeRandomImage(t, dir, signedName, imageSpec{seed: 81, layers: 1, layerSize: 1 << 10})
	ref := "oci-layout:" + dir + ":" + signedName
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--identity", signedName, ref}, "--key is required"},
		{[]string{"--key", key.secretPath, ref}, "--identity is required"},
		{[]string{"--key", key.secretPath, "--identity", "Not A Ref", ref}, `invalid --identity "Not A Ref"`},
		{[]string{"--key", key.publicPath, "--identity", signedName, ref}, key.publicPath + " holds no OpenPGP secret key"},
		{[]string{"--key", key.secretPath, "--identity", signedName, "dir:" + dir}, "is not an oci-layout: image"},
		{[]string{"--key", key.secretPath, "--identity", signedName, "oci-layout:" + dir + ":nosuch"}, `name "nosuch"`},
	} {
		_, stderr, err := runCLI(t, append([]string{"sign"}, tc.args...)...)
		if err == nil || !strings.Contains(stderr, tc.want) {
			t.Errorf("sign %q: err %v, stderr %q; want an error containing %q", tc.args, err, stderr, tc.want)
		}
	}
	if sigs := signaturesOf(t, ref, nil); len(sigs) != 0 {
		t.Fatalf("failed sign commands stored %d signatures", len(sigs))
	}
}
