package transport

import (
	"strings"
	"sync"
	"testing"

	"github.com/ocilayout/ocilayout/reference"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/transports"
	"go.podman.io/image/v5/transports/alltransports"
	"go.podman.io/image/v5/types"
)

const testDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestRegistration(t *testing.T) {
	tr := transports.Get(reference.TransportName)
	if tr == nil {
		t.Fatalf("transport %q not registered", reference.TransportName)
	}
	if tr != Transport() {
		t.Errorf("registered transport %#v differs from Transport() %#v", tr, Transport())
	}
	ref, err := alltransports.ParseImageName("oci-layout:/tmp/x:foo")
	if err != nil {
		t.Fatal(err)
	}
	if ref.Transport().Name() != "oci-layout" || ref.StringWithinTransport() != "/tmp/x:foo" {
		t.Errorf("parsed %s:%s", ref.Transport().Name(), ref.StringWithinTransport())
	}
	if got := transports.ImageName(ref); got != "oci-layout:/tmp/x:foo" {
		t.Errorf("ImageName = %q", got)
	}
	if _, err := alltransports.ParseImageName("oci-layout::foo"); err == nil {
		t.Error("empty PATH accepted")
	}
}

// TestReplaceOCI changes the process-wide registry; nothing else in this
// package relies on the built-in oci: transport.
func TestReplaceOCI(t *testing.T) {
	name := "oci:/tmp/x:@" + testDigest
	if _, err := alltransports.ParseImageName(name); err == nil {
		t.Errorf("built-in oci: transport unexpectedly accepts %q", name)
	}

	var wg sync.WaitGroup
	for range 4 {
		wg.Go(ReplaceOCI) // concurrent and repeated calls must not panic
	}
	wg.Wait()
	ReplaceOCI()

	tr := transports.Get("oci")
	if tr != types.ImageTransport(reference.NewTransport("oci")) {
		t.Fatalf("oci transport is %#v, not ours", tr)
	}
	ref, err := alltransports.ParseImageName(name)
	if err != nil {
		t.Fatalf("%q: %v", name, err)
	}
	if ref.Transport().Name() != "oci" || transports.ImageName(ref) != name {
		t.Errorf("parsed %q as %q", name, transports.ImageName(ref))
	}
	if r, ok := ref.(reference.Reference); !ok || r.Selector().String() != "@"+string(testDigest) {
		t.Errorf("selector of %q: %#v", name, ref)
	}

	// policy.json scopes for transports.oci are now validated by us.
	good := `{"default":[{"type":"reject"}],"transports":{"oci":{"/a/b":[{"type":"insecureAcceptAnything"}]}}}`
	if _, err := signature.NewPolicyFromBytes([]byte(good)); err != nil {
		t.Errorf("valid policy refused: %v", err)
	}
	// DIR:NAME would never match (identity is the directory): refused.
	for _, scope := range []string{"/a/b:Bad Name", "/a/b:foo", "a/b", "/a/../b"} {
		bad := `{"default":[{"type":"reject"}],"transports":{"oci":{"` + scope + `":[{"type":"reject"}]}}}`
		_, err := signature.NewPolicyFromBytes([]byte(bad))
		if err == nil || !strings.Contains(err.Error(), scope) {
			t.Errorf("scope %q: got %v", scope, err)
		}
	}
}

// TestPolicyRefusesDirNameScopes: a policy.json scope "DIR:NAME" for
// oci-layout would never match (the identity of every image of a layout
// is its directory), so an administrator's "/srv/images:prod": signedBy
// would silently give way to the default; the policy is refused when it is
// parsed instead, naming the scope (containers/image reports a scope its
// transport refuses as "Unknown key"; the transport's own error, which
// names the directory to use, is what ValidatePolicyConfigurationScope
// returns).
func TestPolicyRefusesDirNameScopes(t *testing.T) {
	for _, scope := range []string{"/srv/images:prod", "/srv/images:registry.example.com/ns/app:v1"} {
		p := `{"default":[{"type":"insecureAcceptAnything"}],"transports":{"oci-layout":{"` + scope + `":[{"type":"reject"}]}}}`
		_, err := signature.NewPolicyFromBytes([]byte(p))
		if err == nil || !strings.Contains(err.Error(), scope) {
			t.Errorf("policy with scope %q: %v, want a refusal naming it", scope, err)
		}
		err = reference.NewTransport(reference.TransportName).ValidatePolicyConfigurationScope(scope)
		if err == nil || !strings.Contains(err.Error(), `use "/srv/images"`) {
			t.Errorf("scope %q: %v, want an error naming the directory to use", scope, err)
		}
	}
}
