package integration

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	"github.com/distribution/distribution/v3/registry/handlers"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/ocilayout/ocilayout/internal/fixture"
	"github.com/ocilayout/ocilayout/internal/layouttest"
	"github.com/ocilayout/ocilayout/layout"
	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/crypto/bcrypt"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"
)

// startReferrersRegistry is go-containerregistry's in-memory registry
// with the OCI 1.1 referrers API, on loopback.
func startReferrersRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.WithReferrersSupport(true), ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// refAttachCLI attaches content as a referrer of artifactType to image
// with `ocilayout attach` and returns the referrer's digest.
func refAttachCLI(t *testing.T, image, artifactType, content string) digest.Digest {
	t.Helper()
	f := filepath.Join(t.TempDir(), "payload.json")
	fixture.WriteFile(t, f, []byte(content))
	out := mustRunCLI(t, "attach", "--artifact-type", artifactType, "--annotation", "org.example.kind="+artifactType, image, f+":application/json")
	d, err := digest.Parse(strings.TrimSpace(out))
	ioMust(t, err, "attach printed %q", out)
	return d
}

// refCosignTag stores a cosign-style attachment of subject (a manifest
// without subject, under the tag sha256-HEX.sig) in the layout at dir.
func refCosignTag(t *testing.T, dir string, subject digest.Digest) digest.Digest {
	t.Helper()
	ctx := context.Background()
	l, err := layout.Open(dir)
	ioMust(t, err, "opening %s", dir)
	defer l.Close()
	payload := []byte(`{"critical":{"image":{"docker-manifest-digest":"` + subject.String() + `"}}}`)
	pd, err := layouttest.PutBytes(l, ctx, payload)
	ioMust(t, err, "putting payload")
	cfg := fixture.MustJSON(t, imgspecv1.Image{Platform: imgspecv1.Platform{OS: "linux", Architecture: "amd64"}, RootFS: imgspecv1.RootFS{Type: "layers", DiffIDs: []digest.Digest{pd}}})
	cd, err := layouttest.PutBytes(l, ctx, cfg)
	ioMust(t, err, "putting config")
	man := fixture.MustJSON(t, imgspecv1.Manifest{Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageManifest,
		Config: imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageConfig, Digest: cd, Size: int64(len(cfg))},
		Layers: []imgspecv1.Descriptor{{MediaType: "application/vnd.dev.cosign.simplesigning.v1+json", Digest: pd, Size: int64(len(payload)),
			Annotations: map[string]string{"dev.cosignproject.cosign/signature": "c2ln"}}}})
	md, err := layouttest.PutBytes(l, ctx, man)
	ioMust(t, err, "putting manifest")
	ioMust(t, layouttest.Tag(l, ctx, imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest, Digest: md, Size: int64(len(man))},
		"sha256-"+subject.Encoded()+".sig"), "tagging the cosign attachment")
	return md
}

// refLayoutGraph is `ocilayout referrers --json --tree [flags] IMAGE`, as
// "DIGEST@DEPTH" strings (and "tag:NAME" for cosign tags), sorted; image
// is an oci-layout: or a docker:// image.
func refLayoutGraph(t *testing.T, image string, flags ...string) []string {
	t.Helper()
	var res struct {
		Referrers []refNode `json:"referrers"`
	}
	out := mustRunCLI(t, append(append([]string{"referrers", "--json", "--tree"}, flags...), image)...)
	ioMust(t, json.Unmarshal([]byte(out), &res), "decoding referrers --json of %s: %s", image, out)
	var got []string
	var walk func([]refNode, int)
	walk = func(ns []refNode, depth int) {
		for _, n := range ns {
			got = append(got, n.Digest.String()+"@"+string(rune('0'+depth)))
			if n.Tag != "" {
				got = append(got, "tag:"+n.Tag)
			}
			walk(n.Referrers, depth+1)
		}
	}
	walk(res.Referrers, 0)
	slices.Sort(got)
	return got
}

type refNode struct {
	Digest    digest.Digest `json:"digest"`
	Tag       string        `json:"tag"`
	Referrers []refNode     `json:"referrers"`
}

// refRegistryGraph is the same graph as a registry serves it, read with
// oras-go (referrers API or fallback tag) and cosign tags resolved.
func refRegistryGraph(t *testing.T, host, repo string, subject digest.Digest) []string {
	t.Helper()
	ctx := context.Background()
	r, err := remote.NewRepository(host + "/" + repo)
	ioMust(t, err, "repository %s/%s", host, repo)
	r.PlainHTTP = true
	var got []string
	var walk func(digest.Digest, int)
	walk = func(d digest.Digest, depth int) {
		if desc, err := r.Resolve(ctx, "sha256-"+d.Encoded()+".sig"); err == nil {
			got = append(got, desc.Digest.String()+"@"+string(rune('0'+depth)), "tag:sha256-"+d.Encoded()+".sig")
		} else if !strings.Contains(err.Error(), errdef.ErrNotFound.Error()) {
			t.Fatalf("resolving the cosign tag of %s: %v", d, err)
		}
		err := r.Referrers(ctx, imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest, Digest: d}, "", func(rs []imgspecv1.Descriptor) error {
			for _, x := range rs {
				got = append(got, x.Digest.String()+"@"+string(rune('0'+depth)))
				walk(x.Digest, depth+1)
			}
			return nil
		})
		ioMust(t, err, "listing referrers of %s in %s", d, host)
	}
	walk(subject, 0)
	slices.Sort(got)
	return got
}

// TestReferrersRegistryRoundTrip: an image with an SBOM, an attestation, a
// signature on the SBOM and a cosign signature goes layout → registry →
// layout → layout → registry (and registry → registry), against a registry with the referrers API
// (go-containerregistry) and one without (distribution: fallback tags),
// and arrives whole, digest for digest.
func TestReferrersRegistryRoundTrip(t *testing.T) {
	for _, kind := range []struct {
		name  string
		start func(*testing.T) string
	}{
		{"referrers API", startReferrersRegistry},
		{"fallback tags", func(t *testing.T) string { return startCountingRegistry(t).host }},
	} {
		t.Run(kind.name, func(t *testing.T) {
			a, b := kind.start(t), kind.start(t)
			l0 := filepath.Join(t.TempDir(), "l0")
			img := ioWriteImage(t, l0, "app", "amd64", []ioLayer{{files: map[string]string{"etc/os-release": "ID=referrers\n"}}})
			sbom := refAttachCLI(t, "oci-layout:"+l0+":app", "application/spdx+json", `{"spdxVersion":"SPDX-2.3"}`)
			refAttachCLI(t, "oci-layout:"+l0+":app", "application/vnd.in-toto+json", `{"_type":"https://in-toto.io/Statement/v1"}`)
			refAttachCLI(t, "oci-layout:"+l0+":@"+sbom.String(), "application/vnd.example.signature", `{"sig":"of the sbom"}`)
			refCosignTag(t, l0, img.Digest)
			want := refLayoutGraph(t, "oci-layout:"+l0+":app")
			if len(want) != 5 { // 3 referrers, the cosign manifest and its tag
				t.Fatalf("the source graph is %q, want 3 referrers and a cosign tag", want)
			}

			tls := "--dest-tls-verify=false"
			ioCopyCLI(t, "oci-layout:"+l0+":app", "docker://"+a+"/org/app:v1", "--referrers", tls)
			if got := refRegistryGraph(t, a, "org/app", img.Digest); !slices.Equal(got, want) {
				t.Fatalf("registry A holds\n%q\nwant\n%q", got, want)
			}
			// ocilayout referrers lists the registry's graph as oras-go does.
			for _, ref := range []string{"docker://" + a + "/org/app:v1", "docker://" + a + "/org/app@" + img.Digest.String()} {
				if got := refLayoutGraph(t, ref, "--tls-verify=false"); !slices.Equal(got, want) {
					t.Fatalf("ocilayout referrers %s lists\n%q\nwant\n%q", ref, got, want)
				}
			}
			if out := mustRunCLI(t, "referrers", "--tls-verify=false", "--artifact-type", "application/spdx+json", "docker://"+a+"/org/app:v1"); strings.TrimSpace(out) != sbom.String()+" application/spdx+json registry" {
				t.Errorf("referrers --artifact-type of the registry image printed %q, want the SBOM alone", out)
			}
			l1, l2 := filepath.Join(t.TempDir(), "l1"), filepath.Join(t.TempDir(), "l2")
			ioCopyCLI(t, "docker://"+a+"/org/app:v1", "oci-layout:"+l1+":app", "--referrers", "--src-tls-verify=false")
			ioCopyCLI(t, "oci-layout:"+l1+":app", "oci-layout:"+l2+":app", "--referrers")
			for _, l := range []string{l1, l2} {
				if got := refLayoutGraph(t, "oci-layout:"+l+":app"); !slices.Equal(got, want) {
					t.Fatalf("layout %s holds\n%q\nwant\n%q", l, got, want)
				}
				ioVerifyCLI(t, l)
			}
			ioCopyCLI(t, "oci-layout:"+l2+":app", "docker://"+b+"/mirror/app:v1", "--referrers", tls)
			if got := ioRemoteDigest(t, "docker://"+b+"/mirror/app:v1"); got != img.Digest {
				t.Errorf("registry B serves %s, want %s", got, img.Digest)
			}
			if got := refRegistryGraph(t, b, "mirror/app", img.Digest); !slices.Equal(got, want) {
				t.Errorf("registry B holds\n%q\nwant\n%q", got, want)
			}
			// Registry to registry directly.
			c := kind.start(t)
			ioCopyCLI(t, "docker://"+a+"/org/app:v1", "docker://"+c+"/direct/app:v1", "--referrers", "--src-tls-verify=false", tls)
			if got := refRegistryGraph(t, c, "direct/app", img.Digest); !slices.Equal(got, want) {
				t.Errorf("registry C (copied from A directly) holds\n%q\nwant\n%q", got, want)
			}
			// Copying again adds nothing.
			ioCopyCLI(t, "docker://"+a+"/org/app:v1", "oci-layout:"+l1+":app", "--referrers", "--src-tls-verify=false")
			if got := refLayoutGraph(t, "oci-layout:"+l1+":app"); !slices.Equal(got, want) {
				t.Errorf("after a second copy layout l1 holds\n%q\nwant\n%q", got, want)
			}
		})
	}
}

// TestReferrersCopyRefusesOtherTransports: --referrers names what it
// cannot do rather than dropping the referrers silently.
func TestReferrersCopyRefusesOtherTransports(t *testing.T) {
	l0 := filepath.Join(t.TempDir(), "l0")
	ioWriteImage(t, l0, "app", "amd64", []ioLayer{{files: map[string]string{"a": "b"}}})
	dir := filepath.Join(t.TempDir(), "dir")
	ioMust(t, os.MkdirAll(dir, 0o755), "mkdir")
	_, stderr, err := runCLI(t, "copy", "--quiet", "--insecure-policy", "--referrers", "oci-layout:"+l0+":app", "dir:"+dir)
	if err == nil || !strings.Contains(stderr, "between oci-layout: and docker:// images only") {
		t.Errorf("copy --referrers to dir: gave err=%v stderr=%q, want a refusal naming the transports", err, stderr)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("copy --referrers to dir: wrote %d files before refusing", len(entries))
	}
}

// TestReferrersCopyAll: with --all, the referrers of each instance travel
// too (layout → registry → layout), and those of the index itself;
// without --all, those of the instance copied.
func TestReferrersCopyAll(t *testing.T) {
	l0 := filepath.Join(t.TempDir(), "l0")
	amd := ioWriteImage(t, l0, "", "amd64", []ioLayer{{files: map[string]string{"arch": "amd64"}}})
	arm := ioWriteImage(t, l0, "", "arm64", []ioLayer{{files: map[string]string{"arch": "arm64"}}})
	idx := ioWriteIndex(t, l0, "multi", []imgspecv1.Descriptor{amd, arm})
	refAttachCLI(t, "oci-layout:"+l0+":multi", "application/spdx+json", `{"of":"index"}`)
	refAttachCLI(t, "oci-layout:"+l0+":@"+amd.Digest.String(), "application/spdx+json", `{"of":"amd64"}`)
	refAttachCLI(t, "oci-layout:"+l0+":@"+arm.Digest.String(), "application/spdx+json", `{"of":"arm64"}`)
	graphs := func(dir string, ds ...digest.Digest) []string {
		var out []string
		for _, d := range ds {
			for _, g := range refLayoutGraph(t, "oci-layout:"+dir+":@"+d.String()) {
				out = append(out, d.Encoded()[:8]+" "+g)
			}
		}
		return out
	}
	want := graphs(l0, idx, amd.Digest, arm.Digest)
	if len(want) != 3 {
		t.Fatalf("source graphs %q, want 3 referrers", want)
	}
	reg := startReferrersRegistry(t)
	ioCopyCLI(t, "oci-layout:"+l0+":multi", "docker://"+reg+"/multi:v1", "--all", "--referrers", "--dest-tls-verify=false")
	l1 := filepath.Join(t.TempDir(), "l1")
	ioCopyCLI(t, "docker://"+reg+"/multi:v1", "oci-layout:"+l1+":multi", "--all", "--referrers", "--src-tls-verify=false")
	if got := graphs(l1, idx, amd.Digest, arm.Digest); !slices.Equal(got, want) {
		t.Errorf("after registry and back with --all:\n%q\nwant\n%q", got, want)
	}
	ioVerifyCLI(t, l1)

	l2 := filepath.Join(t.TempDir(), "l2")
	ioCopyCLI(t, "oci-layout:"+l0+":multi", "oci-layout:"+l2+":one", "--referrers", "--override-arch", "arm64")
	if got, want := graphs(l2, arm.Digest), graphs(l0, arm.Digest); !slices.Equal(got, want) {
		t.Errorf("one instance copied: %q, want %q", got, want)
	}
}

// startAuthRegistry is a distribution registry that takes only user:secret
// (htpasswd, basic auth).
func startAuthRegistry(t *testing.T) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte("secret"), bcrypt.MinCost)
	ioMust(t, err, "hashing the password")
	htpasswd := filepath.Join(t.TempDir(), "htpasswd")
	fixture.WriteFile(t, htpasswd, []byte("user:"+string(hash)+"\n"))
	config := &configuration.Configuration{Storage: configuration.Storage{
		"inmemory":    configuration.Parameters{},
		"maintenance": configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}},
	}}
	config.Auth = configuration.Auth{"htpasswd": configuration.Parameters{"realm": "test", "path": htpasswd}}
	config.Log.Level = "error"
	config.Log.AccessLog.Disabled = true
	config.HTTP.Secret = "ocilayout-referrers"
	srv := httptest.NewServer(handlers.NewApp(context.Background(), config))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestReferrersRegistryCredentials: the referrers travel with the
// credentials the image was copied with: --dest-creds to push, an auth
// file (--src-authfile) to pull back.
func TestReferrersRegistryCredentials(t *testing.T) {
	reg := startAuthRegistry(t)
	l0 := filepath.Join(t.TempDir(), "l0")
	ioWriteImage(t, l0, "app", "amd64", []ioLayer{{files: map[string]string{"etc/os-release": "ID=auth\n"}}})
	sbom := refAttachCLI(t, "oci-layout:"+l0+":app", "application/spdx+json", `{"spdxVersion":"SPDX-2.3"}`)
	refAttachCLI(t, "oci-layout:"+l0+":@"+sbom.String(), "application/vnd.example.signature", `{"sig":1}`)
	want := refLayoutGraph(t, "oci-layout:"+l0+":app")

	_, stderr, err := runCLI(t, "copy", "--quiet", "--insecure-policy", "--referrers", "--dest-tls-verify=false", "oci-layout:"+l0+":app", "docker://"+reg+"/app:v1")
	if err == nil {
		t.Fatalf("copy to the registry without credentials succeeded: %s", stderr)
	}
	ioCopyCLI(t, "oci-layout:"+l0+":app", "docker://"+reg+"/app:v1", "--referrers", "--dest-tls-verify=false", "--dest-creds", "user:secret")
	if _, stderr, err := runCLI(t, "referrers", "--tls-verify=false", "docker://"+reg+"/app:v1"); err == nil {
		t.Errorf("referrers of the registry image without credentials succeeded: %s", stderr)
	}
	if got := refLayoutGraph(t, "docker://"+reg+"/app:v1", "--tls-verify=false", "--creds", "user:secret"); !slices.Equal(got, want) {
		t.Errorf("referrers of the registry image with --creds:\n%q\nwant\n%q", got, want)
	}

	authFile := filepath.Join(t.TempDir(), "auth.json")
	fixture.WriteFile(t, authFile, []byte(`{"auths":{"`+reg+`":{"auth":"`+base64.StdEncoding.EncodeToString([]byte("user:secret"))+`"}}}`))
	l1 := filepath.Join(t.TempDir(), "l1")
	ioCopyCLI(t, "docker://"+reg+"/app:v1", "oci-layout:"+l1+":app", "--referrers", "--src-tls-verify=false", "--src-authfile", authFile)
	if got := refLayoutGraph(t, "oci-layout:"+l1+":app"); !slices.Equal(got, want) {
		t.Errorf("through the registry with credentials:\n%q\nwant\n%q", got, want)
	}
}
