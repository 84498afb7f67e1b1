package main

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"
	"go.podman.io/image/v5/types"
)

// imageOptions are the per-image flags skopeo spells with a prefix: "src-"
// and "dest-" for copy, none for inspect. They end up in a SystemContext,
// which is how containers/image transports receive per-image settings.
type imageOptions struct {
	prefix        string
	tlsVerify     bool
	creds         string
	noCreds       bool
	certDir       string
	sharedBlobDir string
	authFile      string
}

// platformOptions choose the instance of a multi-platform image, like
// skopeo's global --override-os/--override-arch/--override-variant.
type platformOptions struct {
	os, arch, variant string
}

func (p *platformOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&p.os, "override-os", "", "use `OS` instead of the running OS for choosing images")
	fs.StringVar(&p.arch, "override-arch", "", "use `ARCH` instead of the architecture of the machine for choosing images")
	fs.StringVar(&p.variant, "override-variant", "", "use `VARIANT` instead of the running architecture variant for choosing images")
}

func (p *platformOptions) apply(sys *types.SystemContext) {
	sys.OSChoice = p.os
	sys.ArchitectureChoice = p.arch
	sys.VariantChoice = p.variant
}

func (o *imageOptions) addFlags(fs *pflag.FlagSet) {
	p := o.prefix
	fs.BoolVar(&o.tlsVerify, p+"tls-verify", true, "require HTTPS and verify certificates when talking to registries")
	fs.StringVar(&o.creds, p+"creds", "", "use `USERNAME[:PASSWORD]` for accessing the registry")
	fs.BoolVar(&o.noCreds, p+"no-creds", false, "access the registry anonymously")
	fs.StringVar(&o.certDir, p+"cert-dir", "", "use certificates at `PATH` (*.crt, *.cert, *.key) to connect to the registry")
	fs.StringVar(&o.authFile, p+"authfile", "", "path of the registry authentication `FILE`")
	fs.StringVar(&o.sharedBlobDir, p+"shared-blob-dir", "", "`DIRECTORY` to use to share blobs across OCI repositories (oci: and oci-layout:)")
}

// systemContext turns the flags into a SystemContext. fs tells whether
// --*-tls-verify was given at all: only then is the registry default
// overridden, exactly as skopeo does.
func (o *imageOptions) systemContext(fs *pflag.FlagSet, plat *platformOptions) (*types.SystemContext, error) {
	sys := &types.SystemContext{
		DockerCertPath:       o.certDir,
		OCISharedBlobDirPath: o.sharedBlobDir,
		AuthFilePath:         o.authFile,
	}
	if plat != nil {
		plat.apply(sys)
	}
	if fs.Changed(o.prefix + "tls-verify") {
		sys.DockerInsecureSkipTLSVerify = types.NewOptionalBool(!o.tlsVerify)
		sys.DockerDaemonInsecureSkipTLSVerify = !o.tlsVerify
	}
	if o.noCreds && o.creds != "" {
		return nil, usagef("--%sno-creds and --%screds cannot be used together", o.prefix, o.prefix)
	}
	if o.creds != "" {
		auth, err := parseCreds(o.creds)
		if err != nil {
			return nil, usagef("--%screds: %w", o.prefix, err)
		}
		sys.DockerAuthConfig = auth
	}
	if o.noCreds {
		sys.DockerAuthConfig = &types.DockerAuthConfig{}
	}
	return sys, nil
}

// parseCreds splits USERNAME[:PASSWORD]; the password may contain colons.
func parseCreds(creds string) (*types.DockerAuthConfig, error) {
	user, pass, _ := strings.Cut(creds, ":")
	if user == "" {
		return nil, fmt.Errorf("credentials %q must be USERNAME[:PASSWORD] with a non-empty username", redact(creds))
	}
	return &types.DockerAuthConfig{Username: user, Password: pass}, nil
}

// redact hides the password part of USERNAME:PASSWORD in error messages.
func redact(creds string) string {
	if user, _, ok := strings.Cut(creds, ":"); ok {
		return user + ":***"
	}
	return creds
}
