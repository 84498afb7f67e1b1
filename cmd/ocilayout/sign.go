package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/ocilayout/ocilayout/simplesign"
	"github.com/spf13/cobra"
	dockerref "go.podman.io/image/v5/docker/reference"
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

func (opts *signOptions) run(cmd *cobra.Command, args []string) error {
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
	signer, err := simplesign.LoadKey(opts.key, passphrase)
	if err != nil {
		return err
	}
	l, sel, err := opts.global.openLayoutImage(args[0], "sign stores the signature in the layout")
	if err != nil {
		return err
	}
	defer l.Close()
	signed, err := simplesign.Sign(cmd.Context(), l, sel, signer, opts.identity)
	if err != nil {
		return fmt.Errorf("signing %s: %w", args[0], err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "signed %s as %s with key %s\n", signed, opts.identity, signer.Fingerprint())
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
