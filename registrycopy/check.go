package registrycopy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/image"
	"go.podman.io/image/v5/types"
)

// admit enforces the policy on the image src serves, as copy.Image does
// before it reads anything else of it (same ImageSource, same
// PolicyContext: a signedBy or sigstoreSigned requirement reads and checks
// the signatures here), and refuses the direct route when the image has
// signatures to carry, unless they are to be removed: copy.Image carries
// them.
func (r *route) admit(ctx context.Context, src types.ImageSource) error {
	if allowed, err := r.pc.IsRunningImageAllowed(ctx, image.UnparsedInstance(src, nil)); !allowed || err != nil {
		// Paranoid, as copy.Image: either return value refuses.
		if err == nil {
			err = errors.New("not allowed by the policy")
		}
		return fmt.Errorf("source image rejected: %w", err)
	}
	if r.o.RemoveSignatures {
		return nil
	}
	n, err := signatureCount(ctx, src)
	if err != nil {
		return fmt.Errorf("reading the signatures of %s: %w", transportName(src.Reference()), err)
	}
	if n > 0 {
		return notApplicable("the image has signatures to carry (%d)", n)
	}
	return nil
}

// signatureCount counts the signatures src has, of any format.
// containers/image's own sources (docker://) list sigstore signatures
// (cosign's, with use-sigstore-attachments) only through
// GetSignaturesWithFormat, a method of its internal interface whose result
// type is internal too, hence reflect; a source without that method (ours)
// has only simple-signing signatures, which GetSignatures lists. A method
// of that name with another shape (a containers/image upgrade) refuses the
// direct route rather than guess.
func signatureCount(ctx context.Context, src types.ImageSource) (int, error) {
	if m := reflect.ValueOf(src).MethodByName("GetSignaturesWithFormat"); m.IsValid() {
		t := m.Type()
		if t.NumIn() != 2 || t.NumOut() != 2 || t.Out(0).Kind() != reflect.Slice || !t.Out(1).Implements(reflect.TypeFor[error]()) {
			return 0, notApplicable("cannot list the signatures of %s", transportName(src.Reference()))
		}
		out := m.Call([]reflect.Value{reflect.ValueOf(ctx), reflect.Zero(t.In(1))})
		if err, _ := out[1].Interface().(error); err != nil {
			return 0, err
		}
		return out[0].Len(), nil
	}
	sigs, err := src.GetSignatures(ctx, nil)
	return len(sigs), err
}

func transportName(ref types.ImageReference) string {
	return ref.Transport().Name() + ":" + ref.StringWithinTransport()
}

// imageManifest decodes an OCI image manifest and checks what the direct
// route needs of it: an image (not an artifact: copy.Image refuses those),
// sha256 digests, no foreign or encrypted layers (copy.Image treats them
// apart), and, through layerOK, layers that copy.Image would store as
// they are.
func imageManifest(m []byte, mt string, layerOK func(mediaType string) bool) (*imgspecv1.Manifest, error) {
	if mt != imgspecv1.MediaTypeImageManifest {
		return nil, notApplicable("the manifest is %s, not an OCI image manifest", mt)
	}
	var man imgspecv1.Manifest
	if err := json.Unmarshal(m, &man); err != nil {
		return nil, fmt.Errorf("decoding manifest: %w", err)
	}
	if man.Config.MediaType != imgspecv1.MediaTypeImageConfig {
		return nil, notApplicable("the config is %q, not an image config", man.Config.MediaType)
	}
	for _, d := range append([]imgspecv1.Descriptor{man.Config}, man.Layers...) {
		if err := d.Digest.Validate(); err != nil {
			return nil, fmt.Errorf("manifest names blob %q: %w", d.Digest, err)
		}
		switch {
		case d.Digest.Algorithm() != digest.SHA256:
			return nil, notApplicable("blob %s is not named by sha256", d.Digest)
		case d.Size < 0:
			return nil, fmt.Errorf("manifest gives blob %s size %d", d.Digest, d.Size)
		case len(d.URLs) > 0:
			return nil, notApplicable("layer %s is foreign (has URLs)", d.Digest)
		case strings.HasSuffix(d.MediaType, "+encrypted"):
			return nil, notApplicable("layer %s is encrypted", d.Digest)
		}
	}
	for _, d := range man.Layers {
		if !layerOK(d.MediaType) {
			return nil, notApplicable("copy.Image would convert layer %s (%s)", d.Digest, d.MediaType)
		}
	}
	return &man, nil
}

// blobs are the config and the layers, each digest once.
func blobs(man *imgspecv1.Manifest) []imgspecv1.Descriptor {
	seen := map[digest.Digest]bool{}
	var out []imgspecv1.Descriptor
	for _, d := range append([]imgspecv1.Descriptor{man.Config}, man.Layers...) {
		if !seen[d.Digest] {
			seen[d.Digest] = true
			out = append(out, d)
		}
	}
	return out
}
