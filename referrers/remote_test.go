package referrers

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
	"github.com/distribution/reference"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/ocilayout/ocilayout/internal/layouttest"
	"go.podman.io/image/v5/types"
	"oras.land/oras-go/v2"
)

// startRegistry is an in-process registry on loopback: go-containerregistry's
// with the referrers API, or distribution's, which has none (fallback tags).
func startRegistry(t *testing.T, referrersAPI bool) string {
	t.Helper()
	if referrersAPI {
		srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.WithReferrersSupport(true), ggcrregistry.Logger(log.New(io.Discard, "", 0))))
		t.Cleanup(srv.Close)
		return strings.TrimPrefix(srv.URL, "http://")
	}
	config := &configuration.Configuration{Storage: configuration.Storage{
		"inmemory":    configuration.Parameters{},
		"maintenance": configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}},
	}}
	config.Log.Level = "error"
	config.Log.AccessLog.Disabled = true
	config.HTTP.Secret = "ocilayout-referrers-test"
	srv := httptest.NewServer(handlers.NewApp(context.Background(), config))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// shape renders a listing as "DEPTH TYPE DIGEST TAG" lines, sorted: what a
// layout and a registry holding the same graph must agree on (Source
// differs by nature).
func shape(rs []Referrer) []string {
	var out []string
	var walk func([]Referrer, int)
	walk = func(rs []Referrer, depth int) {
		for _, r := range rs {
			out = append(out, strings.Repeat(">", depth)+" "+r.ArtifactType+" "+r.Digest.Encoded()[:12]+" "+r.Tag)
			walk(r.Referrers, depth+1)
		}
	}
	walk(rs, 0)
	slices.Sort(out)
	return out
}

// TestListRegistry: the graph copied from a layout into a registry with
// the referrers API and one without lists, through ListRegistry, as List
// lists it in the layout: recursively, one level, filtered by type; by tag
// and by digest.
func TestListRegistry(t *testing.T) {
	ctx := context.Background()
	l := newLayout(t)
	img := putImage(t, l, "app")
	must(t, layouttest.Tag(l, ctx, img, "app"), "tagging app")
	sbom := attach(t, l, img, sbomType, "sbom")
	attach(t, l, sbom, sigType, "sig of sbom")
	putForeignReferrer(t, l, img, attType, "attestation")
	putCosignTag(t, l, img.Digest, "sig", "cosign sig")
	sys := &types.SystemContext{DockerInsecureSkipTLSVerify: types.OptionalBoolTrue}

	for _, kind := range []struct {
		name         string
		referrersAPI bool
	}{{"referrers API", true}, {"fallback tags", false}} {
		t.Run(kind.name, func(t *testing.T) {
			host := startRegistry(t, kind.referrersAPI)
			named, err := reference.ParseNormalizedNamed(host + "/org/app:v1")
			must(t, err, "parsing the reference")
			dst, err := Registry(ctx, named, sys)
			must(t, err, "opening the registry")
			must(t, oras.CopyGraph(ctx, &layoutStore{l: l}, dst.target, img, oras.CopyGraphOptions{}), "pushing the image")
			must(t, dst.target.Tag(ctx, img, "v1"), "tagging the image")
			_, err = Copy(ctx, Layout(l, "layout"), dst, img.Digest)
			must(t, err, "copying the referrers")
			byDigest, err := reference.WithDigest(reference.TrimNamed(named), img.Digest)
			must(t, err, "digest reference")

			for _, tc := range []struct {
				name         string
				ref          reference.Named
				artifactType string
				recursive    bool
				want         int // referrers listed, at every depth
			}{
				{"tree, by tag", named, "", true, 4},
				{"tree, by digest", byDigest, "", true, 4},
				{"one level", named, "", false, 3},
				{"of one type", named, sbomType, true, 2},
				{"of a type nothing has", named, "application/x-none", true, 0},
			} {
				t.Run(tc.name, func(t *testing.T) {
					want, err := List(ctx, l, img.Digest, tc.artifactType, tc.recursive)
					must(t, err, "listing the layout")
					subject, got, err := ListRegistry(ctx, tc.ref, sys, tc.artifactType, tc.recursive)
					must(t, err, "listing the registry")
					if subject.Digest != img.Digest {
						t.Errorf("subject %s, want %s", subject.Digest, img.Digest)
					}
					if g, w := shape(got), shape(want); !slices.Equal(g, w) || len(g) != tc.want {
						t.Errorf("registry lists\n%q\nlayout lists\n%q\nwant %d", g, w, tc.want)
					}
					for _, r := range got {
						if r.Source != SourceRegistry && r.Source != SourceCosignTag {
							t.Errorf("referrer %s has source %q", r.Digest, r.Source)
						}
					}
				})
			}
		})
	}
}

// TestListRegistryFollowsMirror: a repository registries.conf pulls from a
// mirror (its own location unreachable) has its referrers listed, and read
// by RegistrySource, from the mirror, as copy.Image pulls the image there.
func TestListRegistryFollowsMirror(t *testing.T) {
	ctx := context.Background()
	l := newLayout(t)
	img := putImage(t, l, "app")
	must(t, layouttest.Tag(l, ctx, img, "app"), "tagging app")
	attach(t, l, img, sbomType, "sbom")
	putForeignReferrer(t, l, img, attType, "attestation")

	mirror := startRegistry(t, true)
	insecure := &types.SystemContext{DockerInsecureSkipTLSVerify: types.OptionalBoolTrue}
	inMirror, err := reference.ParseNormalizedNamed(mirror + "/mirrored/org/app:v1")
	must(t, err, "parsing the mirror's reference")
	dst, err := Registry(ctx, inMirror, insecure)
	must(t, err, "opening the mirror")
	must(t, oras.CopyGraph(ctx, &layoutStore{l: l}, dst.target, img, oras.CopyGraphOptions{}), "pushing the image")
	must(t, dst.target.Tag(ctx, img, "v1"), "tagging the image")
	_, err = Copy(ctx, Layout(l, "layout"), dst, img.Digest)
	must(t, err, "copying the referrers")

	conf := filepath.Join(t.TempDir(), "registries.conf")
	must(t, os.WriteFile(conf, []byte(`[[registry]]
prefix = "primary.invalid/org"
location = "127.0.0.1:1/org"
insecure = true
[[registry.mirror]]
location = "`+mirror+`/mirrored/org"
insecure = true
`), 0o644), "writing registries.conf")
	named, err := reference.ParseNormalizedNamed("primary.invalid/org/app:v1")
	must(t, err, "parsing the reference")

	for _, tc := range []struct {
		name   string
		sys    *types.SystemContext
		listed int // -1: an error
	}{
		{"with the mirror", &types.SystemContext{SystemRegistriesConfPath: conf}, 2},
		{"without registries.conf", &types.SystemContext{SystemRegistriesConfPath: filepath.Join(t.TempDir(), "none.conf"), DockerInsecureSkipTLSVerify: types.OptionalBoolTrue}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			subject, got, err := ListRegistry(ctx, named, tc.sys, "", true)
			if tc.listed < 0 {
				if err == nil {
					t.Fatalf("listing %s without its mirror listed %d referrers, want an error", named, len(got))
				}
				return
			}
			must(t, err, "listing through the mirror")
			if subject.Digest != img.Digest || len(got) != tc.listed {
				t.Errorf("listed subject %s with %d referrers, want %s with %d", subject.Digest, len(got), img.Digest, tc.listed)
			}
			src, err := RegistrySource(ctx, named, tc.sys)
			must(t, err, "opening the source")
			if _, err := src.target.Resolve(ctx, img.Digest.String()); err != nil {
				t.Errorf("RegistrySource does not read the mirror: %v", err)
			}
		})
	}
}
