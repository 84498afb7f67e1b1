package mirror

import (
	"fmt"
	"os"
	"regexp"
	"sort"

	"github.com/Masterminds/semver/v3"
	"go.podman.io/image/v5/types"
	"go.yaml.in/yaml/v3"
)

// The source file of skopeo sync --src yaml, read with skopeo's semantics
// (cmd/skopeo/sync.go):
//
//	registry.example.com:
//	  images:                 # repository -> tags or digests; none: every tag
//	    busybox: []
//	    redis: ["1.0", "sha256:0123..."]
//	  images-by-tag-regex:    # repository -> regexp a tag must match (unanchored)
//	    nginx: ^1\.2[0-9]\.
//	  images-by-semver:       # repository -> semver constraint
//	    alpine: ">= 3.18"
//	  credentials: {username: u, password: p}
//	  tls-verify: false       # default: as the command line says
//	  cert-dir: /etc/certs
//
// Tags that do not parse as semantic versions never match a semver
// constraint.

type yamlRegistry struct {
	Images           map[string][]string `yaml:"images"`
	ImagesByTagRegex map[string]string   `yaml:"images-by-tag-regex"`
	ImagesBySemver   map[string]string   `yaml:"images-by-semver"`
	Credentials      struct {
		Username string `yaml:"username"`
		Password string `yaml:"password"`
	} `yaml:"credentials"`
	TLSVerify *bool  `yaml:"tls-verify"`
	CertDir   string `yaml:"cert-dir"`
}

// ReadYAMLSources reads a skopeo sync YAML file into Sources; base is the
// SystemContext each registry's settings are applied to (a copy per
// registry), as skopeo applies them over its command-line flags.
func ReadYAMLSources(file string, base *types.SystemContext) ([]Source, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading sync source file: %w", err)
	}
	srcs, err := ParseYAMLSources(data, base)
	if err != nil {
		return nil, fmt.Errorf("reading sync source file %s: %w", file, err)
	}
	return srcs, nil
}

// ParseYAMLSources is ReadYAMLSources on the file's contents. Sources come
// in a stable order (registries, then repositories, sorted) so that two
// runs plan the same.
func ParseYAMLSources(data []byte, base *types.SystemContext) ([]Source, error) {
	var cfg map[string]yamlRegistry
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		return nil, err
	}
	var out []Source
	for _, reg := range sortedKeys(cfg) {
		rc := cfg[reg]
		sys := registryContext(rc, base)
		for _, repo := range sortedKeys(rc.Images) {
			out = append(out, Source{Repository: reg + "/" + repo, Tags: rc.Images[repo], Sys: sys})
		}
		for _, repo := range sortedKeys(rc.ImagesByTagRegex) {
			re, err := regexp.Compile(rc.ImagesByTagRegex[repo])
			if err != nil {
				return nil, fmt.Errorf("images-by-tag-regex of %s/%s: %w", reg, repo, err)
			}
			out = append(out, Source{Repository: reg + "/" + repo, Filter: re.MatchString, Sys: sys})
		}
		for _, repo := range sortedKeys(rc.ImagesBySemver) {
			c, err := semver.NewConstraint(rc.ImagesBySemver[repo])
			if err != nil {
				return nil, fmt.Errorf("images-by-semver of %s/%s: %w", reg, repo, err)
			}
			out = append(out, Source{Repository: reg + "/" + repo, Filter: semverFilter(c), Sys: sys})
		}
	}
	return out, nil
}

func semverFilter(c *semver.Constraints) func(string) bool {
	return func(tag string) bool {
		v, err := semver.NewVersion(tag)
		return err == nil && c.Check(v)
	}
}

// registryContext applies a registry's YAML settings over base. tls-verify
// overrides the command line only when the file gives it (as skopeo does
// since 1.15); cert-dir and credentials when non-empty.
func registryContext(rc yamlRegistry, base *types.SystemContext) *types.SystemContext {
	sys := &types.SystemContext{}
	if base != nil {
		c := *base
		sys = &c
	}
	if rc.CertDir != "" {
		sys.DockerCertPath = rc.CertDir
	}
	if rc.TLSVerify != nil {
		sys.DockerInsecureSkipTLSVerify = types.NewOptionalBool(!*rc.TLSVerify)
		sys.DockerDaemonInsecureSkipTLSVerify = !*rc.TLSVerify
	}
	if rc.Credentials.Username != "" || rc.Credentials.Password != "" {
		sys.DockerAuthConfig = &types.DockerAuthConfig{Username: rc.Credentials.Username, Password: rc.Credentials.Password}
	}
	return sys
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
