package mirror

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.podman.io/image/v5/types"
)

func TestParseYAMLSources(t *testing.T) {
	const doc = `
registry.example.com:
  images:
    busybox: []
    redis:
      - "1.0"
      - "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  images-by-tag-regex:
    nginx: ^1\.2[0-9]\.
  images-by-semver:
    alpine: ">= 3.18, < 4"
  credentials:
    username: john
    password: s3cr:et
  tls-verify: false
  cert-dir: /etc/certs
quay.io:
  images:
    libpod/alpine: ["latest"]
`
	base := &types.SystemContext{AuthFilePath: "/auth.json"}
	srcs, err := ParseYAMLSources([]byte(doc), base)
	if err != nil {
		t.Fatal(err)
	}
	var repos []string
	for _, s := range srcs {
		repos = append(repos, s.Repository)
	}
	want := []string{"quay.io/libpod/alpine", "registry.example.com/busybox", "registry.example.com/redis", "registry.example.com/nginx", "registry.example.com/alpine"}
	if !reflect.DeepEqual(repos, want) {
		t.Fatalf("repositories %v, want %v", repos, want)
	}
	quay, busybox, redis, nginx, alpine := srcs[0], srcs[1], srcs[2], srcs[3], srcs[4]
	if quay.Sys.DockerAuthConfig != nil || quay.Sys.DockerInsecureSkipTLSVerify != types.OptionalBoolUndefined || quay.Sys.AuthFilePath != "/auth.json" {
		t.Errorf("quay.io got settings it did not ask for: %+v", quay.Sys)
	}
	sys := busybox.Sys
	if sys.DockerAuthConfig == nil || sys.DockerAuthConfig.Username != "john" || sys.DockerAuthConfig.Password != "s3cr:et" ||
		sys.DockerInsecureSkipTLSVerify != types.OptionalBoolTrue || sys.DockerCertPath != "/etc/certs" || sys.AuthFilePath != "/auth.json" {
		t.Errorf("registry.example.com settings not applied over the base: %+v", sys)
	}
	if base.DockerAuthConfig != nil || base.DockerCertPath != "" {
		t.Errorf("the base SystemContext was modified: %+v", base)
	}
	if len(busybox.Tags) != 0 || busybox.Filter != nil {
		t.Errorf("busybox: [] must mean every tag, got tags %v", busybox.Tags)
	}
	if !reflect.DeepEqual(redis.Tags, []string{"1.0", "sha256:" + hex64}) {
		t.Errorf("redis tags %v", redis.Tags)
	}
	for _, tc := range []struct {
		src  Source
		tag  string
		want bool
	}{
		{nginx, "1.25.3", true}, {nginx, "1.19", false}, {nginx, "1.25.3-alpine", true}, {nginx, "v1.25.3", false}, // a regexp matches anywhere unless anchored, as in skopeo
		{alpine, "3.18.4", true}, {alpine, "3.20", true}, {alpine, "3.17", false}, {alpine, "4.0", false}, {alpine, "latest", false}, {alpine, "edge", false},
	} {
		if got := tc.src.Filter(tc.tag); got != tc.want {
			t.Errorf("%s filter(%q) = %v, want %v", tc.src.Repository, tc.tag, got, tc.want)
		}
	}
}

func TestParseYAMLSourcesErrors(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"reg.io:\n  images-by-tag-regex:\n    app: '('\n", "images-by-tag-regex of reg.io/app"},
		{"reg.io:\n  images-by-semver:\n    app: '>>= x'\n", "images-by-semver of reg.io/app"},
		{"reg.io: [1, 2]\n", "cannot unmarshal"},
		{"reg.io:\n  tls-verify: maybe\n", "cannot unmarshal"},
	} {
		_, err := ParseYAMLSources([]byte(tc.doc), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseYAMLSources(%q) = %v, want an error containing %q", tc.doc, err, tc.want)
		}
	}
	file := filepath.Join(t.TempDir(), "sync.yml")
	if err := os.WriteFile(file, []byte("reg.io: [1]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadYAMLSources(file, nil); err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("ReadYAMLSources error %v does not name %s", err, file)
	}
}
