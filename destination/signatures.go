package destination

import (
	"context"
	"errors"
	"fmt"

	"github.com/ocilayout/ocilayout/layout"
	"github.com/ocilayout/ocilayout/simplesign"
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/manifest"
)

// pendingSignatures are signature artifacts whose blobs PutSignatures has
// stored and that Commit records in index.json, in the same locked update
// as the image entry. Deferring the index change to Commit means a copy
// that fails after PutSignatures leaves no referrer in index.json whose
// subject was never committed; its blobs are unreferenced and GC reclaims
// them once the destination's lease is released.
type pendingSignatures struct {
	subjects []digest.Digest                          // in PutSignatures order
	refs     map[digest.Digest][]imgspecv1.Descriptor // by subject
}

// SupportsSignatures returns nil: simple-signing signatures are stored as
// OCI artifacts referring to the signed manifest.
func (d *imageDestination) SupportsSignatures(ctx context.Context) error { return nil }

// PutSignatures stores signatures for the top-level manifest (instanceDigest
// nil) or for the instance instanceDigest of the index being written. It
// MUST be called after PutManifest for that manifest. Signatures are added
// to those already stored for the manifest, never replacing them (a layout
// accumulates signatures like a lookaside store accumulates signature-N
// files); a signature already stored is not stored again, so re-copying an
// image leaves one copy of each. Nothing is visible until Commit.
func (d *imageDestination) PutSignatures(ctx context.Context, signatures [][]byte, instanceDigest *digest.Digest) error {
	if len(signatures) == 0 {
		return nil
	}
	subject, err := d.signatureSubject(ctx, instanceDigest)
	if err != nil {
		return err
	}
	refs := make([]imgspecv1.Descriptor, 0, len(signatures))
	for i, sig := range signatures {
		r, err := simplesign.Put(ctx, d.layout, subject, sig)
		if err != nil {
			return fmt.Errorf("storing signature %d of %s: %w", i+1, subject.Digest, err)
		}
		refs = append(refs, r)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sigs.refs == nil {
		d.sigs.refs = map[digest.Digest][]imgspecv1.Descriptor{}
	}
	if _, ok := d.sigs.refs[subject.Digest]; !ok {
		d.sigs.subjects = append(d.sigs.subjects, subject.Digest)
	}
	d.sigs.refs[subject.Digest] = append(d.sigs.refs[subject.Digest], refs...)
	return nil
}

// signatureSubject returns the descriptor of the manifest the signatures
// are for: the top-level one PutManifest recorded, or the instance, whose
// blob PutManifest must already have stored.
func (d *imageDestination) signatureSubject(ctx context.Context, instanceDigest *digest.Digest) (imgspecv1.Descriptor, error) {
	if instanceDigest == nil {
		d.mu.Lock()
		defer d.mu.Unlock()
		if !d.topSet {
			return imgspecv1.Descriptor{}, errors.New("PutSignatures called before PutManifest")
		}
		return imgspecv1.Descriptor{MediaType: d.top.MediaType, Digest: d.top.Digest, Size: d.top.Size}, nil
	}
	data, err := d.layout.ReadBlob(ctx, *instanceDigest, -1)
	if err != nil {
		return imgspecv1.Descriptor{}, fmt.Errorf("signatures for instance %s: manifest not stored: %w", *instanceDigest, err)
	}
	return imgspecv1.Descriptor{MediaType: manifest.GuessMIMEType(data), Digest: *instanceDigest, Size: int64(len(data))}, nil
}

// applyPendingSignatures records the signatures of every subject, in
// PutSignatures order, inside Commit's index update. Signatures of
// instances are marked with the top-level manifest's digest
// (layout.AnnotationSubjectRoot), known only now: copy.Image writes the
// instances, and their signatures, before the index that lists them.
func (d *imageDestination) applyPendingSignatures(tx *layout.IndexTx) error {
	d.mu.Lock()
	subjects := d.sigs.subjects
	refs := d.sigs.refs
	top := d.top.Digest
	d.mu.Unlock()
	for _, s := range subjects {
		rs := refs[s]
		if s != top {
			rs = make([]imgspecv1.Descriptor, len(refs[s]))
			for i, r := range refs[s] {
				r.Annotations = map[string]string{layout.AnnotationSubject: s.String(), layout.AnnotationSubjectRoot: top.String()}
				rs[i] = r
			}
		}
		if err := tx.AddReferrers(s, rs...); err != nil {
			return err
		}
	}
	return nil
}
