package shortname

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/internal/fixture"
	"github.com/opencontainers/go-digest"
	_ "go.podman.io/image/v5/transports/alltransports" // the transports Applies must recognise
	"go.podman.io/image/v5/types"
)

// shortNameSystem returns a SystemContext reading only conf (no drop-in
// directory, no user files), with the alias cache in a temp file.
func shortNameSystem(t *testing.T, conf string) *types.SystemContext {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "registries.conf")
	fixture.WriteFile(t, path, []byte(conf))
	return &types.SystemContext{
		SystemRegistriesConfPath:    path,
		SystemRegistriesConfDirPath: filepath.Join(dir, "registries.conf.d"), // absent: no drop-ins
		UserShortNameAliasConfPath:  filepath.Join(dir, "short-name-aliases.conf"),
	}
}

// manifestDigest is the digest of what res.Ref serves.
func manifestDigest(t *testing.T, sys *types.SystemContext, res *Resolution) digest.Digest {
	t.Helper()
	src, err := res.Ref.NewImageSource(context.Background(), sys)
	if err != nil {
		t.Fatalf("opening %s: %v", res.Name, err)
	}
	defer src.Close()
	man, _, err := src.GetManifest(context.Background(), nil)
	if err != nil {
		t.Fatalf("reading the manifest of %s: %v", res.Name, err)
	}
	return digest.FromBytes(man)
}

// TestShortNameSearchRegistries: with two search registries and the image
// only in the second, the second wins, the first is reported as tried,
// and ":latest" is appended to a name without tag.
func TestShortNameSearchRegistries(t *testing.T) {
	reg1, reg2 := fixture.StartRegistry(t), fixture.StartRegistry(t)
	want := fixture.PushImage(t, reg2, "library/app", "12", "in the second registry")
	latest := fixture.PushImage(t, reg2, "library/app", "latest", "latest")
	for _, mode := range []string{"", `short-name-mode = "permissive"`, `short-name-mode = "disabled"`} {
		t.Run("mode="+mode, func(t *testing.T) {
			sys := shortNameSystem(t, fixture.RegistriesConf([]string{reg1, reg2}, mode))
			for _, tc := range []struct {
				input, name string
				digest      digest.Digest
			}{
				{"library/app:12", reg2 + "/library/app:12", want},
				{"library/app", reg2 + "/library/app:latest", latest},
			} {
				res, err := Resolve(context.Background(), sys, tc.input)
				if err != nil {
					t.Fatalf("Resolve(%q): %v", tc.input, err)
				}
				if res.Name.String() != tc.name {
					t.Errorf("Resolve(%q) = %s, want %s", tc.input, res.Name, tc.name)
				}
				if got := manifestDigest(t, sys, res); got != tc.digest {
					t.Errorf("Resolve(%q) serves %s, want %s", tc.input, got, tc.digest)
				}
				if len(res.Tried) != 1 || !strings.Contains(res.Tried[0].Error(), reg1+"/library/app") {
					t.Errorf("Resolve(%q) tried %v before, want the first registry's candidate", tc.input, res.Tried)
				}
				if !strings.Contains(res.Description, "unqualified-search registries") {
					t.Errorf("Description %q does not say the search registries were used", res.Description)
				}
				if err := res.Record(); err != nil {
					t.Errorf("Record: %v", err)
				}
			}
		})
	}
}

// TestShortNameAliasWinsOverSearch: an alias is used even though a search
// registry serves an image under the short name itself.
func TestShortNameAliasWinsOverSearch(t *testing.T) {
	reg1, reg2 := fixture.StartRegistry(t), fixture.StartRegistry(t)
	aliased := fixture.PushImage(t, reg2, "elsewhere/app", "1", "the alias target")
	fixture.PushImage(t, reg1, "app", "1", "what the search would find")
	sys := shortNameSystem(t, fixture.RegistriesConf([]string{reg1, reg2},
		"[aliases]\n\"app\" = \""+reg2+"/elsewhere/app\"\n"))

	res, err := Resolve(context.Background(), sys, "app:1")
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if want := reg2 + "/elsewhere/app:1"; res.Name.String() != want {
		t.Errorf("Resolve(app:1) = %s, want the alias %s", res.Name, want)
	}
	if got := manifestDigest(t, sys, res); got != aliased {
		t.Errorf("Resolve(app:1) serves %s, want the alias target's %s", got, aliased)
	}
	if len(res.Tried) != 0 || !strings.Contains(res.Description, "as an alias") {
		t.Errorf("tried %v, description %q: want the alias alone", res.Tried, res.Description)
	}
}

// TestShortNameEnforcingAmbiguous: in enforcing mode, two search
// registries make a short name ambiguous even if only one has the image;
// without a terminal that is an error naming both candidates. A name with
// one candidate (an alias, a qualified name) still resolves.
func TestShortNameEnforcingAmbiguous(t *testing.T) {
	reg1, reg2 := fixture.StartRegistry(t), fixture.StartRegistry(t)
	fixture.PushImage(t, reg2, "app", "1", "only here")
	alias := fixture.PushImage(t, reg1, "aliased", "1", "alias")
	sys := shortNameSystem(t, fixture.RegistriesConf([]string{reg1, reg2},
		"short-name-mode = \"enforcing\"\n[aliases]\n\"one\" = \""+reg1+"/aliased\"\n"))

	_, err := Resolve(context.Background(), sys, "app:1")
	var amb *AmbiguousError
	if !errors.As(err, &amb) {
		t.Fatalf("Resolve(app:1) in enforcing mode: %v, want an *AmbiguousError", err)
	}
	for _, c := range []string{reg1 + "/app:1", reg2 + "/app:1"} {
		if !strings.Contains(err.Error(), c) {
			t.Errorf("error %q does not list candidate %s", err, c)
		}
	}
	res, err := Resolve(context.Background(), sys, "one:1")
	if err != nil || manifestDigest(t, sys, res) != alias {
		t.Errorf("Resolve(one:1) through an alias in enforcing mode: %v", err)
	}
	res, err = Resolve(context.Background(), sys, reg2+"/app:1")
	if err != nil || res.Name.String() != reg2+"/app:1" {
		t.Errorf("Resolve of a qualified name in enforcing mode: %v", err)
	}
}

// TestShortNameNowhere: no candidate exists; the error names each one.
func TestShortNameNowhere(t *testing.T) {
	reg1, reg2 := fixture.StartRegistry(t), fixture.StartRegistry(t)
	sys := shortNameSystem(t, fixture.RegistriesConf([]string{reg1, reg2}, ""))
	_, err := Resolve(context.Background(), sys, "missing:1")
	if err == nil {
		t.Fatal("Resolve(missing:1) succeeded with no registry holding it")
	}
	for _, c := range []string{`"missing:1"`, reg1 + "/missing:1", reg2 + "/missing:1"} {
		if !strings.Contains(err.Error(), c) {
			t.Errorf("error %q does not name %s", err, c)
		}
	}
	sys = shortNameSystem(t, "")
	if _, err := Resolve(context.Background(), sys, "missing:1"); err == nil || !strings.Contains(err.Error(), "did not resolve to an alias") {
		t.Errorf("Resolve without search registries or alias: %v, want pkg/shortnames' explanation", err)
	}
}

func TestShortNameApplies(t *testing.T) {
	for _, tc := range []struct {
		input string
		want  bool
	}{
		{"debian", true},
		{"debian:12", true},
		{"library/nginx", true},
		{"localhost:5000/app:1", true},
		{"quay.io/ns/app@sha256:0123", true},
		{"docker://debian", false},
		{"oci-layout-not-registered:x", true},
		{"oci:/tmp/x:tag", false},
		{"dir:/tmp/x", false},
		{"containers-storage:app", false},
	} {
		if got := Applies(tc.input); got != tc.want {
			t.Errorf("Applies(%q) = %v, want %v", tc.input, got, tc.want)
		}
	}
}
