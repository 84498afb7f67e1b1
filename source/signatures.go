package source

import (
	"context"

	"github.com/opencontainers/go-digest"
)

// GetSignatures returns the simple-signing signatures stored for the
// selected manifest, or for instanceDigest (an instance of the selected
// index), in the order they were written. index.json is read again here,
// not at open: signatures added since (ocilayout sign) are seen, and a
// signature is returned only if its artifact and bytes verify against
// their digests and the artifact's subject is this manifest.
func (s *Source) GetSignatures(ctx context.Context, instanceDigest *digest.Digest) ([][]byte, error) {
	subject := s.desc.Digest
	if instanceDigest != nil {
		subject = *instanceDigest
	}
	idx, err := s.layout.Index(ctx)
	if err != nil {
		return nil, err
	}
	return s.layout.Signatures(ctx, idx, subject)
}
