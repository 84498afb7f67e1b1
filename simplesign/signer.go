package simplesign

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ocilayout/ocilayout/layout"
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/signature"
)

// Sign makes a simple-signing signature of the manifest sel selects in l,
// claiming identity (a Docker reference) for it, with signer, and stores
// it next to the image. It returns the signed manifest's digest.
func Sign(ctx context.Context, l *layout.Layout, sel layout.Selector, signer *Signer, identity string) (digest.Digest, error) {
	desc, err := l.Lookup(ctx, sel)
	if err != nil {
		return "", err
	}
	m, err := l.ReadBlob(ctx, desc.Digest, desc.Size)
	if err != nil {
		return "", err
	}
	if desc.MediaType == "" {
		desc.MediaType = manifest.GuessMIMEType(m)
	}
	sig, err := signature.SignDockerManifest(m, identity, signer, signer.Fingerprint())
	if err != nil {
		return "", fmt.Errorf("signing %s: %w", desc.Digest, err)
	}
	subject := imgspecv1.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size}
	if err := Add(ctx, l, subject, [][]byte{sig}); err != nil {
		return "", fmt.Errorf("storing signature of %s: %w", desc.Digest, err)
	}
	return desc.Digest, nil
}

// LoadKey reads the first secret key in file, armored or binary,
// and decrypts it with passphrase when it is protected.
func LoadKey(file, passphrase string) (*Signer, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading OpenPGP key %s: %w", file, err)
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
				return nil, fmt.Errorf("key %s is protected by a passphrase; give the passphrase", file)
			}
			if err := e.DecryptPrivateKeys([]byte(passphrase)); err != nil {
				return nil, fmt.Errorf("decrypting key %s: %w", file, err)
			}
		}
		return &Signer{entity: e}, nil
	}
	return nil, fmt.Errorf("%s holds no OpenPGP secret key", file)
}

// Signer is a signature.SigningMechanism that signs with one go-crypto
// OpenPGP key. containers/image's own mechanism under the
// containers_image_openpgp build tag can only verify, and gpgme needs cgo
// and a gpg agent; with this one signature.SignDockerManifest still builds
// the payload, so signatures are byte-for-byte the format containers/image
// verifies. It signs only; verification stays with containers/image.
type Signer struct{ entity *openpgp.Entity }

// Fingerprint is the key's fingerprint in upper-case hex, the key identity
// signature.SignDockerManifest takes.
func (s *Signer) Fingerprint() string {
	return strings.ToUpper(fmt.Sprintf("%x", s.entity.PrimaryKey.Fingerprint))
}

// Close releases nothing: the key lives in memory.
func (s *Signer) Close() error { return nil }

// SupportsSigning is nil: this mechanism signs.
func (s *Signer) SupportsSigning() error { return nil }

// Sign produces a non-detached OpenPGP signed message of input, the form
// simple signing uses (what "gpg --sign" writes).
func (s *Signer) Sign(input []byte, keyIdentity string) ([]byte, error) {
	if !strings.EqualFold(keyIdentity, s.Fingerprint()) {
		return nil, fmt.Errorf("signing key %s requested, loaded key is %s", keyIdentity, s.Fingerprint())
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

// Verify refuses: verification stays with containers/image and a policy.
func (s *Signer) Verify([]byte) ([]byte, string, error) {
	return nil, "", errors.New("ocilayout's signer does not verify; use a policy")
}

// UntrustedSignatureContents refuses, as Verify does.
func (s *Signer) UntrustedSignatureContents([]byte) ([]byte, string, error) {
	return nil, "", errors.New("ocilayout's signer does not parse signatures")
}

var _ signature.SigningMechanism = (*Signer)(nil)
