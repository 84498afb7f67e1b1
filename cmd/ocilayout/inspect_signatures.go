package main

import (
	"context"
	"fmt"

	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/types"
)

// signatureSummary is what inspect shows of one signature.
type signatureSummary struct {
	KeyID    string // OpenPGP short key id of the signer, as the signature claims it
	Identity string // Docker reference the signature claims
}

// summarizeSignatures reads the top-level manifest's signatures without
// verifying them, which is why inspect labels nothing as trusted: a key id
// and identity anyone could have written, for a human to compare with the
// policy.
func summarizeSignatures(ctx context.Context, src types.ImageSource) ([]signatureSummary, error) {
	sigs, err := src.GetSignatures(ctx, nil)
	if err != nil {
		return nil, err
	}
	var out []signatureSummary
	for i, s := range sigs {
		info, err := signature.GetUntrustedSignatureInformationWithoutVerifying(s)
		if err != nil {
			return nil, fmt.Errorf("signature %d: %w", i+1, err)
		}
		out = append(out, signatureSummary{KeyID: info.UntrustedShortKeyIdentifier, Identity: info.UntrustedDockerReference})
	}
	return out, nil
}
