// Package registryclient is the oras-go client of a registry repository,
// set up from a containers/image SystemContext as the docker transport
// reads it, for the code that talks to registries without copy.Image:
// referrers.Copy and registrycopy's direct push.
package registryclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/distribution/reference"
	dockerref "go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/pkg/docker/config"
	"go.podman.io/image/v5/pkg/sysregistriesv2"
	"go.podman.io/image/v5/pkg/tlsclientconfig"
	"go.podman.io/image/v5/types"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/retry"
)

// Repository is the oras-go client of repository ref, set up from
// the same SystemContext the user gave containers/image for the image
// (credentials from --creds or the auth files and credential helpers,
// certificates from --cert-dir or certs.d, --tls-verify=false or an
// insecure registries.conf entry), so that what it carries travels where the
// image did.
func Repository(ctx context.Context, ref reference.Named, sys *types.SystemContext) (*remote.Repository, error) {
	if sys == nil {
		sys = &types.SystemContext{}
	}
	reg, err := entry(sys, ref)
	if err != nil {
		return nil, err
	}
	return repositoryAt(ctx, ref, sys, insecure(sys, reg != nil && reg.Insecure))
}

// Target is what ref names in its repository: its digest, else its tag,
// else "latest", as the docker transport reads a reference.
func Target(ref reference.Named) string {
	if d, ok := ref.(reference.Digested); ok {
		return d.Digest().String()
	}
	if t, ok := ref.(reference.Tagged); ok {
		return t.Tag()
	}
	return "latest"
}

// entry is ref's registries.conf entry (nil when it has none); a blocked
// registry is an error.
func entry(sys *types.SystemContext, ref reference.Named) (*sysregistriesv2.Registry, error) {
	reg, err := sysregistriesv2.FindRegistry(sys, ref.Name())
	if err != nil {
		return nil, fmt.Errorf("reading registries.conf for %s: %w", ref.Name(), err)
	}
	if reg != nil && reg.Blocked {
		return nil, fmt.Errorf("registry %s is blocked in registries.conf", reference.Domain(ref))
	}
	return reg, nil
}

// insecure is whether TLS is not verified: --tls-verify=false, or else
// the registries.conf endpoint's own insecure setting.
func insecure(sys *types.SystemContext, endpointInsecure bool) bool {
	switch sys.DockerInsecureSkipTLSVerify {
	case types.OptionalBoolTrue:
		return true
	case types.OptionalBoolUndefined:
		return endpointInsecure
	}
	return false
}

// PullRepository is the repository ref is read from, as the docker
// transport reads an image: the pull sources registries.conf gives it (its
// mirrors, then its own location, each with the prefix rewritten), the
// first that resolves Target(ref); ref's own repository where
// registries.conf has no entry. So referrers come from where copy.Image
// took the image, also in a mirror-only network.
func PullRepository(ctx context.Context, ref reference.Named, sys *types.SystemContext) (*remote.Repository, error) {
	if sys == nil {
		sys = &types.SystemContext{}
	}
	reg, err := entry(sys, ref)
	if err != nil {
		return nil, err
	}
	if reg == nil {
		return repositoryAt(ctx, ref, sys, insecure(sys, false))
	}
	cref, err := dockerref.ParseNormalizedNamed(ref.String())
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", ref.String(), err)
	}
	sources, err := reg.PullSourcesFromReference(cref)
	if err != nil {
		return nil, fmt.Errorf("pull sources of %s in registries.conf: %w", ref.String(), err)
	}
	target := Target(ref)
	var errs []error
	for _, src := range sources {
		sref, err := reference.ParseNormalizedNamed(src.Reference.String())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		repo, err := repositoryAt(ctx, sref, sys, insecure(sys, src.Endpoint.Insecure))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := repo.Resolve(ctx, target); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", sref.Name(), err))
			continue
		}
		return repo, nil
	}
	return nil, fmt.Errorf("reading %s from any of its pull sources: %w", ref.String(), errors.Join(errs...))
}

// repositoryAt is the client of ref's repository on its own host, with
// TLS verification off when insecure.
func repositoryAt(ctx context.Context, ref reference.Named, sys *types.SystemContext, insecure bool) (*remote.Repository, error) {
	domain := reference.Domain(ref)
	host := domain
	if host == "docker.io" {
		host = "registry-1.docker.io" // what the docker transport talks to
	}
	tlsc := &tls.Config{InsecureSkipVerify: insecure} // #nosec G402 -- the user asked for it
	if dir := certDir(sys, host); dir != "" {
		if err := tlsclientconfig.SetupCertificates(dir, tlsc); err != nil {
			return nil, fmt.Errorf("loading certificates for %s from %s: %w", host, dir, err)
		}
	}
	tr := tlsclientconfig.NewTransport()
	tr.TLSClientConfig = tlsc

	// --creds (or --no-creds, an empty config) wins; else the auth files
	// and credential helpers, as the docker transport reads them.
	var cred auth.Credential
	if sys.DockerAuthConfig != nil {
		cred = credential(*sys.DockerAuthConfig)
	} else {
		c, err := config.GetCredentials(sys, domain)
		if err != nil {
			return nil, fmt.Errorf("reading credentials for %s: %w", domain, err)
		}
		cred = credential(c)
	}

	repo, err := remote.NewRepository(host + "/" + reference.Path(ref))
	if err != nil {
		return nil, fmt.Errorf("repository %s: %w", ref.Name(), err)
	}
	repo.Client = &auth.Client{
		Client:     &http.Client{Transport: retry.NewTransport(tr)},
		Cache:      auth.NewCache(),
		Credential: auth.StaticCredential(host, cred),
	}
	// Without the referrers API, oras-go replaces the subject's fallback
	// tag index on each push and deletes the old one; registries often
	// refuse deletes (distribution by default: 405), which would fail the
	// copy. The old index is left untagged instead.
	repo.SkipReferrersGC = true
	if insecure {
		// As containers/image does for an insecure registry: HTTPS
		// without verification if it answers, else plain HTTP.
		repo.PlainHTTP = !speaksHTTPS(ctx, tr, host)
	}
	return repo, nil
}

func credential(c types.DockerAuthConfig) auth.Credential {
	return auth.Credential{Username: c.Username, Password: c.Password, RefreshToken: c.IdentityToken}
}

// speaksHTTPS probes https://host/v2/: any HTTP answer (401 included) means
// the registry speaks TLS.
func speaksHTTPS(ctx context.Context, tr *http.Transport, host string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+host+"/v2/", nil)
	if err != nil {
		return false
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return true
}

// certDir is where containers/image looks for host's certificates:
// --cert-dir, the per-host directory the SystemContext names, or the
// first certs.d directory that has host.
func certDir(sys *types.SystemContext, host string) string {
	if sys.DockerCertPath != "" {
		return sys.DockerCertPath
	}
	if sys.DockerPerHostCertDirPath != "" {
		return filepath.Join(sys.DockerPerHostCertDirPath, host)
	}
	var bases []string
	if home, err := os.UserHomeDir(); err == nil {
		bases = append(bases, filepath.Join(home, ".config/containers/certs.d"))
	}
	for _, b := range []string{"/etc/containers/certs.d", "/etc/docker/certs.d"} {
		bases = append(bases, filepath.Join(sys.RootForImplicitAbsolutePaths, b))
	}
	for _, b := range bases {
		if d := filepath.Join(b, host); isDir(d) {
			return d
		}
	}
	return ""
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
