package integration

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/internal/fixture"
	"github.com/opencontainers/go-digest"
)

// refTool finds a Go tool `make tools` installs into bin/ (oras, cosign),
// else on PATH; missing, it skips, or fails under CI=true (ioTool).
func refTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := filepath.Abs(filepath.Join("..", "bin", name)); err == nil {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ioTool(t, name)
}

// refRun runs tool in dir with extra environment and returns its output.
func refRun(t *testing.T, dir string, env []string, tool string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(tool, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "HOME="+t.TempDir(), "XDG_CONFIG_HOME=", "XDG_RUNTIME_DIR="), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func refMustRun(t *testing.T, dir string, env []string, tool string, args ...string) string {
	t.Helper()
	out, err := refRun(t, dir, env, tool, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(tool), strings.Join(args, " "), err, out)
	}
	return out
}

// orasGraph is `oras discover --format json` of a layout image, as
// "DIGEST@DEPTH" strings, sorted.
func orasGraph(t *testing.T, oras, dir, name string) []string {
	t.Helper()
	out := refMustRun(t, "", nil, oras, "discover", "--oci-layout", dir+":"+name, "--format", "json")
	var res struct {
		Referrers []refNode `json:"referrers"`
	}
	ioMust(t, json.Unmarshal([]byte(out), &res), "decoding oras discover: %s", out)
	var got []string
	var walk func([]refNode, int)
	walk = func(ns []refNode, depth int) {
		for _, n := range ns {
			got = append(got, n.Digest.String()+"@"+string(rune('0'+depth)))
			walk(n.Referrers, depth+1)
		}
	}
	walk(res.Referrers, 0)
	slices.Sort(got)
	return got
}

// TestInteropReferrersOras: oras discover --oci-layout lists what
// `ocilayout attach` wrote (a signature of an SBOM included), and
// `ocilayout referrers` lists and `copy --referrers` carries what
// `oras attach --oci-layout` wrote.
func TestInteropReferrersOras(t *testing.T) {
	oras := refTool(t, "oras")
	l0 := filepath.Join(t.TempDir(), "l0")
	ioWriteImage(t, l0, "app", "amd64", []ioLayer{{files: map[string]string{"etc/os-release": "ID=oras\n"}}})
	sbom := refAttachCLI(t, "oci-layout:"+l0+":app", "application/spdx+json", `{"spdxVersion":"SPDX-2.3"}`)
	sig := refAttachCLI(t, "oci-layout:"+l0+":@"+sbom.String(), "application/vnd.example.signature", `{"sig":1}`)
	want := []string{sbom.String() + "@0", sig.String() + "@1"}
	slices.Sort(want)
	if got := orasGraph(t, oras, l0, "app"); !slices.Equal(got, want) {
		t.Fatalf("oras discover lists\n%q\nwant what we attached\n%q", got, want)
	}

	work := t.TempDir()
	fixture.WriteFile(t, filepath.Join(work, "att.json"), []byte(`{"_type":"https://in-toto.io/Statement/v1"}`))
	out := refMustRun(t, work, nil, oras, "attach", "--oci-layout", l0+":app", "--artifact-type", "application/vnd.in-toto+json", "--format", "json", "att.json:application/json")
	var attached struct {
		Digest digest.Digest `json:"digest"`
	}
	ioMust(t, json.Unmarshal([]byte(out), &attached), "decoding oras attach: %s", out)
	want = append(want, attached.Digest.String()+"@0")
	slices.Sort(want)
	if got := refLayoutGraph(t, "oci-layout:"+l0+":app"); !slices.Equal(got, want) {
		t.Fatalf("ocilayout referrers lists\n%q\nwant (with what oras attached)\n%q", got, want)
	}
	l1 := filepath.Join(t.TempDir(), "l1")
	ioCopyCLI(t, "oci-layout:"+l0+":app", "oci-layout:"+l1+":app", "--referrers")
	if got := orasGraph(t, oras, l1, "app"); !slices.Equal(got, want) {
		t.Errorf("after copy --referrers, oras discover lists\n%q\nwant\n%q", got, want)
	}
	ioVerifyCLI(t, l1)
}

// TestInteropReferrersOrasLeaveWithSubject: what `oras attach
// --oci-layout` wrote (untagged entries with no annotation of ours, the
// subject only inside the manifest: an attestation and a signature of it)
// leaves with its subject when ocilayout deletes it or moves its tag away:
// ocilayout referrers and oras discover agree there is nothing once the
// same image is back, its blobs are gone, and the layout verifies.
func TestInteropReferrersOrasLeaveWithSubject(t *testing.T) {
	oras := refTool(t, "oras")
	src := filepath.Join(t.TempDir(), "src")
	img := ioWriteImage(t, src, "app", "amd64", []ioLayer{{files: map[string]string{"etc/os-release": "ID=oras-delete\n"}}})
	ioWriteImage(t, src, "other", "amd64", []ioLayer{{files: map[string]string{"etc/os-release": "ID=other\n"}}})
	work := t.TempDir()
	fixture.WriteFile(t, filepath.Join(work, "att.json"), []byte(`{"_type":"https://in-toto.io/Statement/v1"}`))
	fixture.WriteFile(t, filepath.Join(work, "sig.json"), []byte(`{"sig":"of the attestation"}`))
	orasAttach := func(subject, artifactType, file string) digest.Digest {
		out := refMustRun(t, work, nil, oras, "attach", "--oci-layout", subject, "--artifact-type", artifactType, "--format", "json", file+":application/json")
		var attached struct {
			Digest digest.Digest `json:"digest"`
		}
		ioMust(t, json.Unmarshal([]byte(out), &attached), "decoding oras attach: %s", out)
		return attached.Digest
	}
	for _, tc := range []struct {
		name   string
		remove func(t *testing.T, l string)
	}{
		{"delete", func(t *testing.T, l string) { mustRunCLI(t, "delete", "oci-layout:"+l+":app") }},
		{"tag move", func(t *testing.T, l string) {
			ioCopyCLI(t, "oci-layout:"+src+":other", "oci-layout:"+l+":app")
			mustRunCLI(t, "gc", l)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := filepath.Join(t.TempDir(), "l")
			ioCopyCLI(t, "oci-layout:"+src+":app", "oci-layout:"+l+":app")
			att := orasAttach(l+":app", "application/vnd.in-toto+json", "att.json")
			sig := orasAttach(l+"@"+att.String(), "application/vnd.example.signature", "sig.json")
			want := []string{att.String() + "@0", sig.String() + "@1"}
			slices.Sort(want)
			if got := orasGraph(t, oras, l, "app"); !slices.Equal(got, want) {
				t.Fatalf("before: oras discover lists\n%q\nwant\n%q", got, want)
			}
			if got := refLayoutGraph(t, "oci-layout:"+l+":app"); !slices.Equal(got, want) {
				t.Fatalf("before: ocilayout referrers lists\n%q\nwant\n%q", got, want)
			}

			tc.remove(t, l)
			for _, d := range []digest.Digest{att, sig} {
				if _, err := os.Stat(filepath.Join(l, "blobs", "sha256", d.Encoded())); err == nil {
					t.Errorf("referrer %s is still in the layout", d)
				}
			}
			ioVerifyCLI(t, l)
			// The same image back: had an entry of oras's stayed, both
			// would list it again.
			ioCopyCLI(t, "oci-layout:"+src+":app", "oci-layout:"+l+":app")
			if got := orasGraph(t, oras, l, "app"); len(got) != 0 {
				t.Errorf("after: oras discover lists %q, want nothing", got)
			}
			if got := refLayoutGraph(t, "oci-layout:"+l+":app"); len(got) != 0 {
				t.Errorf("after: ocilayout referrers lists %q, want nothing", got)
			}
			if got := ioTag(t, l, "app"); got != img.Digest {
				t.Errorf("app is %s, want %s", got, img.Digest)
			}
			mustRunCLI(t, "gc", l) // what moving app back left
			ioVerifyCLI(t, l)
		})
	}
}

// TestInteropReferrersCosign: cosign signs an image in an in-process
// registry with a key (no transparency log); copy --referrers takes the
// signature (cosign's sha256-HEX.sig tag) into a layout and out to a
// second registry, where cosign verify passes with that key and fails
// with another; an attestation (cosign attest, the .att tag) the same
// way with cosign verify-attestation.
func TestInteropReferrersCosign(t *testing.T) {
	cosign := refTool(t, "cosign")
	a, b := startCountingRegistry(t).host, startCountingRegistry(t).host
	l0 := filepath.Join(t.TempDir(), "l0")
	img := ioWriteImage(t, l0, "app", "amd64", []ioLayer{{files: map[string]string{"etc/os-release": "ID=cosign\n"}}})
	ioCopyCLI(t, "oci-layout:"+l0+":app", "docker://"+a+"/org/app:v1", "--dest-tls-verify=false")

	keys, other := t.TempDir(), t.TempDir()
	env := []string{"COSIGN_PASSWORD=test-only", "COSIGN_YES=true", "TUF_ROOT=" + t.TempDir()}
	refMustRun(t, keys, env, cosign, "generate-key-pair")
	refMustRun(t, other, env, cosign, "generate-key-pair")
	reg := []string{"--allow-insecure-registry", "--allow-http-registry"}
	sign := append([]string{"sign", "--key", filepath.Join(keys, "cosign.key"), "--tlog-upload=false", "--yes"}, reg...)
	refMustRun(t, keys, env, cosign, append(sign, a+"/org/app@"+img.Digest.String())...)
	fixture.WriteFile(t, filepath.Join(keys, "predicate.json"), []byte(`{"spdxVersion":"SPDX-2.3","name":"app"}`))
	attest := append([]string{"attest", "--key", filepath.Join(keys, "cosign.key"), "--tlog-upload=false", "--yes", "--type", "spdxjson", "--predicate", "predicate.json"}, reg...)
	refMustRun(t, keys, env, cosign, append(attest, a+"/org/app@"+img.Digest.String())...)

	l1 := filepath.Join(t.TempDir(), "l1")
	ioCopyCLI(t, "docker://"+a+"/org/app:v1", "oci-layout:"+l1+":app", "--referrers", "--src-tls-verify=false")
	graph := refLayoutGraph(t, "oci-layout:"+l1+":app")
	if !slices.Contains(graph, "tag:sha256-"+img.Digest.Encoded()+".sig") || !slices.Contains(graph, "tag:sha256-"+img.Digest.Encoded()+".att") {
		t.Fatalf("the layout's referrers are %q, want cosign's signature and attestation tags", graph)
	}
	ioVerifyCLI(t, l1)
	ioCopyCLI(t, "oci-layout:"+l1+":app", "docker://"+b+"/mirror/app:v1", "--referrers", "--dest-tls-verify=false")

	verify := func(pub string) (string, error) {
		args := append([]string{"verify", "--key", pub, "--insecure-ignore-tlog"}, reg...)
		return refRun(t, keys, env, cosign, append(args, b+"/mirror/app@"+img.Digest.String())...)
	}
	if out, err := verify(filepath.Join(keys, "cosign.pub")); err != nil {
		t.Errorf("cosign verify in the second registry: %v\n%s", err, out)
	}
	if out, err := verify(filepath.Join(other, "cosign.pub")); err == nil {
		t.Errorf("cosign verify with another key passed:\n%s", out)
	}
	va := append([]string{"verify-attestation", "--key", filepath.Join(keys, "cosign.pub"), "--insecure-ignore-tlog", "--type", "spdxjson"}, reg...)
	if out, err := refRun(t, keys, env, cosign, append(va, b+"/mirror/app@"+img.Digest.String())...); err != nil {
		t.Errorf("cosign verify-attestation in the second registry: %v\n%s", err, out)
	}

	// With use-sigstore-attachments, containers/image reads cosign's
	// signature as a sigstore signature, which it refuses to write into a
	// third-party destination; the copy still succeeds, and --referrers
	// carries the signature as its tag. A policy that requires sigstore
	// signatures is not satisfied by hiding them: it fails.
	rd := t.TempDir()
	fixture.WriteFile(t, filepath.Join(rd, "default.yaml"), []byte("default-docker:\n  use-sigstore-attachments: true\n"))
	pub, err := os.ReadFile(filepath.Join(keys, "cosign.pub"))
	ioMust(t, err, "reading the public key")
	sigstorePolicy := filepath.Join(t.TempDir(), "policy.json")
	fixture.WriteFile(t, sigstorePolicy, []byte(`{"default":[{"type":"sigstoreSigned","keyData":"`+base64.StdEncoding.EncodeToString(pub)+`","signedIdentity":{"type":"matchRepository"}}]}`))
	for _, tc := range []struct {
		name    string
		flags   []string
		wantErr string
		wantTag bool
	}{
		{"without referrers", []string{"--insecure-policy"}, "", false},
		{"with referrers", []string{"--insecure-policy", "--referrers"}, "", true},
		{"sigstoreSigned policy", []string{"--policy", sigstorePolicy, "--referrers"}, "Source image rejected", false},
	} {
		t.Run("sigstore attachments/"+tc.name, func(t *testing.T) {
			l := filepath.Join(t.TempDir(), "l")
			args := append(append([]string{"copy", "--quiet", "--src-tls-verify=false", "--registries.d", rd}, tc.flags...), "docker://"+a+"/org/app:v1", "oci-layout:"+l+":app")
			_, stderr, err := runCLI(t, args...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(stderr, tc.wantErr) {
					t.Fatalf("copy gave err=%v stderr=%q, want %q", err, stderr, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("copy: %v\n%s", err, stderr)
			}
			if got := ioTag(t, l, "app"); got != img.Digest {
				t.Errorf("copied %s, want %s", got, img.Digest)
			}
			graph := refLayoutGraph(t, "oci-layout:"+l+":app")
			if has := slices.Contains(graph, "tag:sha256-"+img.Digest.Encoded()+".sig"); has != tc.wantTag {
				t.Errorf("the layout's referrers are %q; cosign tag there: %v, want %v", graph, has, tc.wantTag)
			}
		})
	}
	// From a layout, cosign's signature is no signature to containers/image:
	// a sigstoreSigned policy rejects the image even though the layout holds
	// a valid cosign signature of it.
	_, stderr, err := runCLI(t, "copy", "--quiet", "--policy", sigstorePolicy, "oci-layout:"+l1+":app", "oci-layout:"+filepath.Join(t.TempDir(), "l")+":app")
	if err == nil || !strings.Contains(stderr, "Source image rejected") {
		t.Errorf("sigstoreSigned policy on a layout source: err=%v stderr=%q, want a rejection", err, stderr)
	}
}
