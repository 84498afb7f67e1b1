package layout

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Media types of a stored simple-signing signature. There is no registered
// or de-facto type for a GPG "atomic container signature" in OCI storage
// (cosign's application/vnd.dev.cosign.simplesigning.v1+json is the JSON
// payload with the signature in an annotation, which is a different
// format, and notation uses its own types), so we name ours under our
// vendor prefix rather than squat on containers' or sigstore's:
//
//   - the artifact manifest is an ordinary OCI image manifest, so every
//     tool that walks index.json (umoci gc, oras, crane, skopeo) treats it
//     as reachable content and keeps its blobs;
//   - artifactType ArtifactTypeSimpleSigning tells referrers readers
//     (oras discover, regclient) what it is;
//   - config is the OCI empty descriptor, as the image spec recommends for
//     artifacts without configuration;
//   - one layer of MediaTypeSimpleSigningLayer holding the signature bytes
//     exactly as containers/image produces and verifies them (an OpenPGP
//     signed message whose literal data is the simple-signing JSON).
const (
	ArtifactTypeSimpleSigning   = "application/vnd.ocilayout.simple-signing.v1"
	MediaTypeSimpleSigningLayer = "application/vnd.ocilayout.simple-signing.signature.v1"
)

// AnnotationSubjectRoot marks a referrer entry whose subject is an
// instance inside an index (copy --all) with the digest of the top-level
// index.json entry it was committed with. Instances have no index.json
// entry of their own, so without it a tag move that drops the index would
// leave its instances' signatures listed forever; with it they go with the
// index, as a top-level image's referrers go with the image.
const AnnotationSubjectRoot = "io.github.ocilayout.subject-root"

// emptyJSON is the content of the OCI empty descriptor.
var emptyJSON = []byte("{}")

// ReferrersTag is the OCI referrers fallback tag for subject: "ALG-HEX",
// the tag the distribution spec defines for registries without the
// referrers API, which regclient's ocidir and oras also read in layouts.
func ReferrersTag(subject digest.Digest) string {
	return subject.Algorithm().String() + "-" + subject.Encoded()
}

// PutSignatureArtifact stores sig as a signature artifact of subject (its
// layer, the empty config and the artifact manifest) and returns the
// manifest's descriptor, ready for ApplyReferrers. It does not touch
// index.json: until a caller records the descriptor, the blobs are
// unreferenced and GC may reclaim them once the writer's lease is gone.
// The manifest is deterministic in (subject, sig), so storing the same
// signature twice yields the same descriptor, which is how re-copies
// avoid duplicates.
func (l *Layout) PutSignatureArtifact(ctx context.Context, subject imgspecv1.Descriptor, sig []byte) (imgspecv1.Descriptor, error) {
	if len(sig) == 0 {
		return imgspecv1.Descriptor{}, fmt.Errorf("storing signature of %s in %s: empty signature", subject.Digest, l.dir)
	}
	if err := subject.Digest.Validate(); err != nil {
		return imgspecv1.Descriptor{}, fmt.Errorf("storing signature in %s: invalid subject digest %q: %w", l.dir, string(subject.Digest), err)
	}
	layerDigest, err := l.PutBlobBytes(ctx, sig)
	if err != nil {
		return imgspecv1.Descriptor{}, err
	}
	configDigest, err := l.PutBlobBytes(ctx, emptyJSON)
	if err != nil {
		return imgspecv1.Descriptor{}, err
	}
	m := imgspecv1.Manifest{
		Versioned:    imgspec.Versioned{SchemaVersion: 2},
		MediaType:    imgspecv1.MediaTypeImageManifest,
		ArtifactType: ArtifactTypeSimpleSigning,
		Config:       imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeEmptyJSON, Digest: configDigest, Size: int64(len(emptyJSON))},
		Layers:       []imgspecv1.Descriptor{{MediaType: MediaTypeSimpleSigningLayer, Digest: layerDigest, Size: int64(len(sig))}},
		Subject:      &imgspecv1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
	}
	data, err := json.Marshal(m)
	if err != nil {
		return imgspecv1.Descriptor{}, fmt.Errorf("encoding signature artifact for %s: %w", subject.Digest, err)
	}
	md, err := l.PutBlobBytes(ctx, data)
	if err != nil {
		return imgspecv1.Descriptor{}, err
	}
	return imgspecv1.Descriptor{
		MediaType:    imgspecv1.MediaTypeImageManifest,
		ArtifactType: ArtifactTypeSimpleSigning,
		Digest:       md,
		Size:         int64(len(data)),
		Annotations:  map[string]string{AnnotationSubject: subject.Digest.String()},
	}, nil
}

// ApplyAddManifest is AddManifest for use inside an UpdateIndex closure,
// so that a caller can record an image and its referrers in one atomic
// index.json write.
func ApplyAddManifest(idx *imgspecv1.Index, desc imgspecv1.Descriptor, name string) error {
	if name != "" {
		if err := ValidateName(name); err != nil {
			return err
		}
	}
	applyAddManifest(idx, desc, name)
	return nil
}

// ApplyReferrers, called inside UpdateIndex, appends the referrer entries
// refs (from PutSignatureArtifact) of subject to idx, skipping any whose
// digest is already there, and rewrites subject's referrers fallback tag to
// list every referrer of subject in index.json order. Appending keeps the
// write order that GetSignatures reports. It puts the fallback index blob
// while the caller holds the index lock, so the tag always matches the
// entries it was computed from.
//
// An entry is a duplicate when its digest and AnnotationSubjectRoot are
// both present already: the same instance signed in two indexes gets one
// entry per index, so dropping one index keeps the other's.
func (l *Layout) ApplyReferrers(ctx context.Context, idx *imgspecv1.Index, subject digest.Digest, refs []imgspecv1.Descriptor) error {
	key := func(d imgspecv1.Descriptor) string {
		return d.Digest.String() + " " + d.Annotations[AnnotationSubjectRoot]
	}
	present := map[string]bool{}
	for _, e := range idx.Manifests {
		present[key(e)] = true
	}
	added := false
	for _, r := range refs {
		if r.Annotations[AnnotationSubject] != subject.String() {
			return fmt.Errorf("referrer %s is not marked as referring to %s", r.Digest, subject)
		}
		if present[key(r)] {
			continue
		}
		present[key(r)] = true
		idx.Manifests = append(idx.Manifests, r)
		added = true
	}
	tag := ReferrersTag(subject)
	if !added && hasEntryNamed(idx, tag) {
		return nil
	}
	return l.writeReferrersTag(ctx, idx, subject, tag)
}

func hasEntryNamed(idx *imgspecv1.Index, name string) bool {
	for _, e := range idx.Manifests {
		if entryName(e) == name {
			return true
		}
	}
	return false
}

// writeReferrersTag stores the fallback index of subject's referrers and
// points tag at it, in place if the tag exists. The tag's entry carries
// AnnotationSubject too, so that it goes with its subject on a tag move
// and is not taken for an image when a layout is opened without a name.
func (l *Layout) writeReferrersTag(ctx context.Context, idx *imgspecv1.Index, subject digest.Digest, tag string) error {
	list := imgspecv1.Index{Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageIndex, Manifests: []imgspecv1.Descriptor{}}
	listed := map[digest.Digest]bool{}
	roots := map[string]bool{}
	for _, e := range idx.Manifests {
		if e.Annotations[AnnotationSubject] != subject.String() || entryName(e) != "" {
			continue
		}
		roots[e.Annotations[AnnotationSubjectRoot]] = true
		if listed[e.Digest] {
			continue
		}
		listed[e.Digest] = true
		d := imgspecv1.Descriptor{MediaType: e.MediaType, ArtifactType: e.ArtifactType, Digest: e.Digest, Size: e.Size}
		list.Manifests = append(list.Manifests, d)
	}
	// Referrers that only the existing tag lists (written by regclient or
	// oras, say) are kept: the tag is their only link to the layout.
	// Removing a referrer therefore means editing this tag too (delete and
	// gc do), not only index.json.
	foreign := 0
	for _, e := range idx.Manifests {
		if entryName(e) != tag || !IsIndexMediaType(e.MediaType) {
			continue
		}
		old, err := l.ReadIndexBlob(ctx, e)
		if err != nil {
			return fmt.Errorf("reading referrers tag %s: %w", tag, err)
		}
		for _, r := range old.Manifests {
			if listed[r.Digest] {
				continue
			}
			listed[r.Digest] = true
			list.Manifests = append(list.Manifests, r)
			foreign++
		}
	}
	data, err := json.Marshal(list)
	if err != nil {
		return fmt.Errorf("encoding referrers index of %s: %w", subject, err)
	}
	d, err := l.PutBlobBytes(ctx, data)
	if err != nil {
		return err
	}
	entry := imgspecv1.Descriptor{
		MediaType:   imgspecv1.MediaTypeImageIndex,
		Digest:      d,
		Size:        int64(len(data)),
		Annotations: map[string]string{imgspecv1.AnnotationRefName: tag, AnnotationSubject: subject.String()},
	}
	// The tag goes with an index only if all its referrers do; one shared
	// by two indexes stays until delete or gc decide.
	if len(roots) == 1 && foreign == 0 {
		for r := range roots {
			if r != "" {
				entry.Annotations[AnnotationSubjectRoot] = r
			}
		}
	}
	for i, e := range idx.Manifests {
		if entryName(e) == tag {
			idx.Manifests[i] = entry
			return nil
		}
	}
	idx.Manifests = append(idx.Manifests, entry)
	return nil
}

// AddSignatures stores sigs as signature artifacts of subject and records
// them in index.json, for callers outside a copy (ocilayout sign). When
// subject is an instance inside indexes of the layout, an entry is
// recorded per such index (AnnotationSubjectRoot). It holds
// a write lease while its blobs are unreferenced, so GC cannot reclaim them
// between the put and the index update.
func (l *Layout) AddSignatures(ctx context.Context, subject imgspecv1.Descriptor, sigs [][]byte) error {
	lease, err := l.AcquireWriteLease()
	if err != nil {
		return err
	}
	defer lease.Release()
	refs := make([]imgspecv1.Descriptor, 0, len(sigs))
	for _, s := range sigs {
		r, err := l.PutSignatureArtifact(ctx, subject, s)
		if err != nil {
			return err
		}
		refs = append(refs, r)
	}
	return l.UpdateIndex(ctx, func(idx *imgspecv1.Index) error {
		roots, err := l.rootsOf(ctx, idx, subject.Digest)
		if err != nil {
			return err
		}
		if len(roots) == 0 {
			return l.ApplyReferrers(ctx, idx, subject.Digest, refs)
		}
		for _, root := range roots {
			rs := make([]imgspecv1.Descriptor, len(refs))
			for i, r := range refs {
				r.Annotations = map[string]string{AnnotationSubject: subject.Digest.String(), AnnotationSubjectRoot: root.String()}
				rs[i] = r
			}
			if err := l.ApplyReferrers(ctx, idx, subject.Digest, rs); err != nil {
				return err
			}
		}
		return nil
	})
}

// rootsOf returns nothing when d is a top-level entry of idx, and
// otherwise the top-level indexes that contain d (at any depth), whose
// AnnotationSubjectRoot its referrers get.
func (l *Layout) rootsOf(ctx context.Context, idx *imgspecv1.Index, d digest.Digest) ([]digest.Digest, error) {
	for _, e := range idx.Manifests {
		if e.Digest == d {
			return nil, nil
		}
	}
	var roots []digest.Digest
	seen := map[digest.Digest]bool{}
	for _, e := range idx.Manifests {
		if !IsIndexMediaType(e.MediaType) || e.Annotations[AnnotationSubject] != "" || seen[e.Digest] {
			continue
		}
		seen[e.Digest] = true
		if _, ok, err := l.findDigest(ctx, []imgspecv1.Descriptor{e}, d, map[digest.Digest]bool{}); err != nil {
			return nil, err
		} else if ok {
			roots = append(roots, e.Digest)
		}
	}
	return roots, nil
}

// Signatures returns the simple-signing signatures stored for subject, in
// the order they were written: the artifacts index.json lists for it, then
// any others its referrers fallback tag lists (written by another tool).
// Every artifact manifest and signature is verified against its digest,
// and an artifact whose subject is not subject is refused, so a signature
// cannot be moved from one image to another by editing index.json.
func (l *Layout) Signatures(ctx context.Context, idx *imgspecv1.Index, subject digest.Digest) ([][]byte, error) {
	var cands []imgspecv1.Descriptor
	seen := map[digest.Digest]bool{}
	add := func(d imgspecv1.Descriptor) {
		if d.ArtifactType == ArtifactTypeSimpleSigning && d.MediaType == imgspecv1.MediaTypeImageManifest && !seen[d.Digest] {
			seen[d.Digest] = true
			cands = append(cands, d)
		}
	}
	tag := ReferrersTag(subject)
	var tagEntry *imgspecv1.Descriptor
	for i, e := range idx.Manifests {
		if entryName(e) == tag {
			tagEntry = &idx.Manifests[i]
			continue
		}
		if e.Annotations[AnnotationSubject] == subject.String() {
			add(e)
		}
	}
	if tagEntry != nil && IsIndexMediaType(tagEntry.MediaType) {
		list, err := l.ReadIndexBlob(ctx, *tagEntry)
		if err != nil {
			return nil, fmt.Errorf("reading referrers tag %s: %w", tag, err)
		}
		for _, d := range list.Manifests {
			add(d)
		}
	}
	var sigs [][]byte
	seenSig := map[digest.Digest]bool{}
	for _, d := range cands {
		m, err := l.ReadManifestBlob(ctx, d)
		if err != nil {
			return nil, fmt.Errorf("reading signature artifact of %s: %w", subject, err)
		}
		if m.Subject == nil || m.Subject.Digest != subject {
			return nil, fmt.Errorf("signature artifact %s in %s is listed for %s but its subject is %v", d.Digest, l.dir, subject, m.Subject)
		}
		for _, layer := range m.Layers {
			if layer.MediaType != MediaTypeSimpleSigningLayer || seenSig[layer.Digest] {
				continue
			}
			seenSig[layer.Digest] = true
			sig, err := l.ReadBlob(ctx, layer.Digest, layer.Size)
			if err != nil {
				return nil, fmt.Errorf("reading signature %s of %s: %w", layer.Digest, subject, err)
			}
			sigs = append(sigs, sig)
		}
	}
	return sigs, nil
}
