package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ocilayout/ocilayout/layout"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"
	dockerref "go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/transports/alltransports"
)

type signOptions struct {
	global         *globalOptions
	key            string
	passphraseFile string
	identity       string
}

func newSignCommand(global *globalOptions) *cobra.Command {
	opts := &signOptions{global: global}
	cmd := &cobra.Command{
		Use:   "sign --key KEY.asc --identity DOCKER-REFERENCE IMAGE",
		Short: "Sign an image in an oci-layout: layout with a GPG key (simple signing)",
		Long: `Create a containers/image simple-signing signature of IMAGE's manifest,
claiming DOCKER-REFERENCE as its identity, with the OpenPGP secret key in
KEY.asc (armored or binary), and store it in the layout next to the image.
No gpg or gpgme is needed. copy --policy verifies it with a signedBy
requirement; copy carries it to dir:, docker:// (lookaside) and other layouts.`,
		Example: `  ocilayout sign --key signer.asc --identity registry.example.com/ns/app:v1 \
      oci-layout:./images:registry.example.com/ns/app:v1
  ocilayout sign --key signer.asc --passphrase-file pass.txt --identity quay.io/org/app:v2 oci-layout:./images:@0`,
		Args: exactArgs(1, "IMAGE"),
		RunE: func(cmd *cobra.Command, args []string) error { return opts.run(cmd, args) },
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.key, "key", "", "OpenPGP secret key `FILE` to sign with (required)")
	fs.StringVar(&opts.passphraseFile, "passphrase-file", "", "read the key's passphrase from the first line of `FILE`")
	fs.StringVar(&opts.identity, "identity", "", "Docker `REFERENCE` the signature claims for the image (required)")
	return cmd
}

func (opts *signOptions) run(cmd *cobra.Command, args []string) (retErr error) {
	ctx := cmd.Context()
	if opts.key == "" {
		return usagef("sign: --key is required")
	}
	if opts.identity == "" {
		return usagef("sign: --identity is required")
	}
	if _, err := dockerref.ParseNormalizedNamed(opts.identity); err != nil {
		return usagef("sign: invalid --identity %q: %w", opts.identity, err)
	}
	passphrase, err := readPassphrase(opts.passphraseFile)
	if err != nil {
		return err
	}
	signer, err := loadSigningKey(opts.key, passphrase)
	if err != nil {
		return err
	}
	ref, err := alltransports.ParseImageName(args[0])
	if err != nil {
		return fmt.Errorf("invalid image name %q: %w", args[0], err)
	}
	if ref.Transport().Name() != "oci-layout" {
		return usagef("sign: %q is not an oci-layout: image (sign stores the signature in the layout)", args[0])
	}
	src, err := ref.NewImageSource(ctx, nil)
	if err != nil {
		return fmt.Errorf("opening %s: %w", args[0], err)
	}
	defer func() {
		if err := src.Close(); err != nil && retErr == nil {
			retErr = fmt.Errorf("closing %s: %w", args[0], err)
		}
	}()
	lsrc, ok := src.(interface {
		Layout() *layout.Layout
		Descriptor() imgspecv1.Descriptor
	})
	if !ok {
		return fmt.Errorf("opening %s: not an oci-layout source", args[0])
	}
	m, _, err := src.GetManifest(ctx, nil)
	if err != nil {
		return fmt.Errorf("reading manifest of %s: %w", args[0], err)
	}
	sig, err := signature.SignDockerManifest(m, opts.identity, signer, signer.fingerprint())
	if err != nil {
		return fmt.Errorf("signing %s: %w", args[0], err)
	}
	if err := lsrc.Layout().AddSignatures(ctx, lsrc.Descriptor(), [][]byte{sig}); err != nil {
		return fmt.Errorf("storing signature of %s: %w", args[0], err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "signed %s as %s with key %s\n", lsrc.Descriptor().Digest, opts.identity, signer.fingerprint())
	return nil
}

// readPassphrase returns the first line of file ("" when no file).
func readPassphrase(file string) (string, error) {
	if file == "" {
		return "", nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("reading --passphrase-file: %w", err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	return strings.TrimSuffix(line, "\r"), nil
}

// loadSigningKey reads the first secret key in file, armored or binary,
// and decrypts it with passphrase when it is protected.
func loadSigningKey(file, passphrase string) (*openpgpSigner, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading --key: %w", err)
	}
	var r io.Reader = bytes.NewReader(data)
	if block, err := armor.Decode(bytes.NewReader(data)); err == nil {
		r = block.Body
	}
	entities, err := openpgp.ReadKeyRing(r)
	if err != nil {
		return nil, fmt.Errorf("reading OpenPGP key %s: %w", file, err)
	}
	for _, e := range entities {
		if e.PrivateKey == nil {
			continue
		}
		if e.PrivateKey.Encrypted {
			if passphrase == "" {
				return nil, fmt.Errorf("key %s is protected by a passphrase; give it with --passphrase-file", file)
			}
			if err := e.DecryptPrivateKeys([]byte(passphrase)); err != nil {
				return nil, fmt.Errorf("decrypting key %s: %w", file, err)
			}
		}
		return &openpgpSigner{entity: e}, nil
	}
	return nil, fmt.Errorf("%s holds no OpenPGP secret key", file)
}

// openpgpSigner is a signature.SigningMechanism that signs with one
// go-crypto key. containers/image's own mechanism under the
// containers_image_openpgp build tag can only verify, and gpgme needs cgo
// and a gpg agent; with this one signature.SignDockerManifest still builds
// the payload, so signatures are byte-for-byte the format containers/image
// verifies. It signs only; verification stays with containers/image.
type openpgpSigner struct{ entity *openpgp.Entity }

func (s *openpgpSigner) fingerprint() string {
	return strings.ToUpper(fmt.Sprintf("%x", s.entity.PrimaryKey.Fingerprint))
}

func (s *openpgpSigner) Close() error           { return nil }
func (s *openpgpSigner) SupportsSigning() error { return nil }

// Sign produces a non-detached OpenPGP signed message of input, the form
// simple signing uses (what "gpg --sign" writes).
func (s *openpgpSigner) Sign(input []byte, keyIdentity string) ([]byte, error) {
	if !strings.EqualFold(keyIdentity, s.fingerprint()) {
		return nil, fmt.Errorf("signing key %s requested, loaded key is %s", keyIdentity, s.fingerprint())
	}
	var buf bytes.Buffer
	w, err := openpgp.Sign(&buf, s.entity, nil, nil)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(input); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (s *openpgpSigner) Verify([]byte) ([]byte, string, error) {
	return nil, "", errors.New("ocilayout's signer does not verify; use a policy")
}

func (s *openpgpSigner) UntrustedSignatureContents([]byte) ([]byte, string, error) {
	return nil, "", errors.New("ocilayout's signer does not parse signatures")
}

var _ signature.SigningMechanism = (*openpgpSigner)(nil)
