// Package simplesign stores containers/image simple-signing signatures in
// an OCI image layout, and makes them, with an OpenPGP key and no gpg.
//
// A signature is a referrer of the manifest it signs (see
// layout.Layout.Attach): an OCI image manifest with artifactType
// ArtifactType, the OCI empty config, and one layer of LayerMediaType
// holding the signature bytes exactly as containers/image produces and
// verifies them (an OpenPGP signed message whose literal data is the
// simple-signing JSON). There is no registered or de-facto type for a GPG
// "atomic container signature" in OCI storage (cosign's
// application/vnd.dev.cosign.simplesigning.v1+json is a JSON payload with
// the signature in an annotation, a different format; notation has its
// own), so ours are named under our vendor prefix rather than squat on
// containers' or sigstore's. Being ordinary image manifests listed in
// index.json, they are reachable content for every tool that walks it
// (umoci gc, oras, crane, skopeo), and artifactType tells referrers
// readers (oras discover, regclient) what they are.
package simplesign

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/ocilayout/ocilayout/layout"
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// The media types of a stored signature.
const (
	ArtifactType   = "application/vnd.ocilayout.simple-signing.v1"
	LayerMediaType = "application/vnd.ocilayout.simple-signing.signature.v1"
)

// Put stores sig as a signature artifact of subject and returns its
// index.json entry, for layout.IndexTx.AddReferrers: nothing is visible
// until a transaction records it. The artifact is deterministic in
// (subject, sig), so storing a signature twice yields one entry.
func Put(ctx context.Context, l *layout.Layout, subject imgspecv1.Descriptor, sig []byte) (imgspecv1.Descriptor, error) {
	if len(sig) == 0 {
		return imgspecv1.Descriptor{}, fmt.Errorf("storing signature of %s: empty signature", subject.Digest)
	}
	d, n, err := l.PutBlob(ctx, bytes.NewReader(sig), digest.FromBytes(sig), int64(len(sig)))
	if err != nil {
		return imgspecv1.Descriptor{}, err
	}
	return l.PutArtifact(ctx, subject, artifact(d, n))
}

func artifact(d digest.Digest, n int64) layout.Artifact {
	return layout.Artifact{
		ArtifactType: ArtifactType,
		Layers:       []imgspecv1.Descriptor{{MediaType: LayerMediaType, Digest: d, Size: n}},
	}
}

// Add stores sigs as signatures of subject and records them at once (see
// layout.Layout.Attach), for callers outside a copy such as Sign.
func Add(ctx context.Context, l *layout.Layout, subject imgspecv1.Descriptor, sigs [][]byte) error {
	as := make([]layout.Artifact, 0, len(sigs))
	for _, s := range sigs {
		if len(s) == 0 {
			return fmt.Errorf("storing signature of %s: empty signature", subject.Digest)
		}
		d, n, err := l.PutBlob(ctx, bytes.NewReader(s), digest.FromBytes(s), int64(len(s)))
		if err != nil {
			return err
		}
		as = append(as, artifact(d, n))
	}
	_, err := l.Attach(ctx, subject, as...)
	return err
}

// Store is what Signatures reads: a *layout.Layout, or a *layout.Image,
// whose referrers are those of the read of index.json that chose it (an
// ImageSource's signatures are those of the image it opened, and cost no
// second read of a large index.json).
type Store interface {
	Referrers(ctx context.Context, subject digest.Digest, artifactType string) ([]imgspecv1.Descriptor, error)
	ReadBlob(ctx context.Context, d digest.Digest, size int64) ([]byte, error)
}

// Signatures returns the simple-signing signatures the layout holds for
// subject, in the order they were written (see layout.Layout.Referrers).
// Every artifact manifest and signature is verified against its digest,
// and an artifact whose subject is not subject is refused, so a signature
// cannot be moved from one image to another by editing index.json.
func Signatures(ctx context.Context, l Store, subject digest.Digest) ([][]byte, error) {
	refs, err := l.Referrers(ctx, subject, ArtifactType)
	if err != nil {
		return nil, err
	}
	var sigs [][]byte
	seen := map[digest.Digest]bool{}
	for _, d := range refs {
		if d.MediaType != imgspecv1.MediaTypeImageManifest {
			continue
		}
		data, err := l.ReadBlob(ctx, d.Digest, d.Size)
		if err != nil {
			return nil, fmt.Errorf("reading signature artifact of %s: %w", subject, err)
		}
		var m imgspecv1.Manifest
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("parsing signature artifact %s of %s: %w", d.Digest, subject, err)
		}
		if m.Subject == nil || m.Subject.Digest != subject {
			return nil, fmt.Errorf("signature artifact %s is listed for %s but its subject is %v", d.Digest, subject, m.Subject)
		}
		for _, layer := range m.Layers {
			if layer.MediaType != LayerMediaType || seen[layer.Digest] {
				continue
			}
			seen[layer.Digest] = true
			sig, err := l.ReadBlob(ctx, layer.Digest, layer.Size)
			if err != nil {
				return nil, fmt.Errorf("reading signature %s of %s: %w", layer.Digest, subject, err)
			}
			sigs = append(sigs, sig)
		}
	}
	return sigs, nil
}
