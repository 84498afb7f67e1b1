package layout

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// How referrers live in a layout. A referrer (signature, SBOM,
// attestation) is an OCI image manifest whose subject is the manifest it
// refers to. We record each as an untagged index.json entry carrying
// AnnotationSubject, which is what oras-go and notation write and read,
// and which keeps its blobs reachable for every tool that walks index.json
// (umoci gc, oras, crane); and we keep the OCI referrers fallback tag
// "ALG-HEX" of the subject (an index listing its referrers), which
// regclient's ocidir and oras read. IndexTx.AddReferrers changes the
// first, and Update rewrites the second once per transaction.

// emptyJSON is the content of the OCI empty descriptor.
var emptyJSON = []byte("{}")

// referrersTag is the OCI referrers fallback tag for subject: "ALG-HEX",
// the tag the distribution spec defines for registries without the
// referrers API.
func referrersTag(subject digest.Digest) string {
	return subject.Algorithm().String() + "-" + subject.Encoded()
}

// Artifact is a referrer to store: an OCI image manifest of type
// ArtifactType whose layers are blobs already put into the layout (PutBlob)
// and whose config is the OCI empty descriptor unless Config is set.
type Artifact struct {
	ArtifactType string
	Config       *imgspecv1.Descriptor
	Layers       []imgspecv1.Descriptor
	Annotations  map[string]string
}

// PutArtifact stores the manifest of a (and the empty config it needs) as
// a referrer of subject and returns the index.json entry that records it,
// for IndexTx.AddReferrers. It does not touch index.json: until a
// transaction records the entry, the blobs are unreferenced and GC may
// reclaim them once the writer's Lease is released. The manifest is
// deterministic in (subject, a), so storing the same artifact twice yields
// the same entry, which is how re-copies avoid duplicates.
func (l *Layout) PutArtifact(ctx context.Context, subject imgspecv1.Descriptor, a Artifact) (imgspecv1.Descriptor, error) {
	if err := subject.Digest.Validate(); err != nil {
		return imgspecv1.Descriptor{}, fmt.Errorf("storing an artifact in %s: invalid subject digest %q: %w", l.dir, string(subject.Digest), err)
	}
	config := a.Config
	if config == nil {
		d, err := l.putBytes(ctx, emptyJSON)
		if err != nil {
			return imgspecv1.Descriptor{}, err
		}
		config = &imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeEmptyJSON, Digest: d, Size: int64(len(emptyJSON))}
	}
	m := imgspecv1.Manifest{
		Versioned:    imgspec.Versioned{SchemaVersion: 2},
		MediaType:    imgspecv1.MediaTypeImageManifest,
		ArtifactType: a.ArtifactType,
		Config:       *config,
		Layers:       a.Layers,
		Subject:      &imgspecv1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
		Annotations:  a.Annotations,
	}
	if m.Layers == nil {
		m.Layers = []imgspecv1.Descriptor{}
	}
	data, err := json.Marshal(m)
	if err != nil {
		return imgspecv1.Descriptor{}, fmt.Errorf("encoding artifact for %s: %w", subject.Digest, err)
	}
	md, err := l.putBytes(ctx, data)
	if err != nil {
		return imgspecv1.Descriptor{}, err
	}
	return imgspecv1.Descriptor{
		MediaType:    imgspecv1.MediaTypeImageManifest,
		ArtifactType: a.ArtifactType,
		Digest:       md,
		Size:         int64(len(data)),
		Annotations:  map[string]string{AnnotationSubject: subject.Digest.String()},
	}, nil
}

// AddReferrers appends the referrer entries refs (from PutArtifact) of
// subject, skipping any already there, and marks subject's fallback tag
// for rewriting when the transaction ends. Appending keeps the write order
// that readers report.
//
// An entry is a duplicate when its digest and subject root are both
// present already: the same instance signed in two indexes gets one entry
// per index, so dropping one index keeps the other's.
func (tx *IndexTx) AddReferrers(subject digest.Digest, refs ...imgspecv1.Descriptor) error {
	tx.full() // finish decodes the index to rewrite subject's fallback tag anyway
	tx.tags = nil
	key := func(d imgspecv1.Descriptor) string {
		return d.Digest.String() + " " + d.Annotations[AnnotationSubjectRoot]
	}
	present := map[string]bool{}
	for _, e := range tx.idx.Manifests {
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
		tx.idx.Manifests = append(tx.idx.Manifests, r)
		added = true
	}
	if added || !hasEntryNamed(tx.idx, referrersTag(subject)) {
		tx.subjects = append(tx.subjects, subject)
	}
	return nil
}

// finish rewrites the fallback tag of every subject whose referrers the
// transaction changed, once each: those AddReferrers added to, and those
// that lost a referrer by any verb (see removedReferrers). The tag's index
// blob is written here, under the lock, because its content is the
// referrers the re-read index holds, which only the lock holder knows.
func (tx *IndexTx) finish() error {
	if tx.list != nil {
		if len(tx.subjects) == 0 && len(removedReferrers(tx.before, tx.list.referrers())) == 0 {
			return nil // no fallback tag to rewrite: nothing to decode
		}
		tx.full()
	}
	tx.tags = nil
	gone := removedReferrers(tx.before, referrersOf(tx.idx.Manifests))
	subjects := tx.subjects
	for s := range gone {
		subjects = append(subjects, s)
	}
	done := map[digest.Digest]bool{}
	for _, s := range subjects {
		if done[s] {
			continue
		}
		done[s] = true
		old, err := tx.l.writeReferrersTag(tx.ctx, tx.idx, s, referrersTag(s), gone[s])
		if err != nil {
			return err
		}
		tx.replaced = append(tx.replaced, old...)
	}
	return nil
}

func hasEntryNamed(idx *imgspecv1.Index, name string) bool {
	for _, e := range idx.Manifests {
		if entryName(e) == name {
			return true
		}
	}
	return false
}

// Attach stores a as a referrer of subject (a manifest of the layout,
// top-level or inside an index) and records it in one transaction, holding
// a Lease while its blobs are unreferenced so that GC cannot reclaim
// them between the put and the index update. When subject is an instance
// inside indexes of the layout, an entry is recorded per such index, so
// that the referrer goes with whichever index is deleted last.
//
// The subject's fallback tag is rewritten with the new referrers; the
// index it named before is garbage from then on, and goes when the
// Layout is closed (see Close).
func (l *Layout) Attach(ctx context.Context, subject imgspecv1.Descriptor, as ...Artifact) ([]imgspecv1.Descriptor, error) {
	lease, err := l.AcquireWriteLease(ctx)
	if err != nil {
		return nil, err
	}
	defer lease.Release()
	refs := make([]imgspecv1.Descriptor, 0, len(as))
	for _, a := range as {
		r, err := l.PutArtifact(ctx, subject, a)
		if err != nil {
			return nil, err
		}
		refs = append(refs, r)
	}
	err = l.Update(ctx, func(tx *IndexTx) error {
		roots, err := l.rootsOf(ctx, tx.full(), subject.Digest)
		if err != nil {
			return err
		}
		if len(roots) == 0 {
			return tx.AddReferrers(subject.Digest, refs...)
		}
		for _, root := range roots {
			rs := make([]imgspecv1.Descriptor, len(refs))
			for i, r := range refs {
				r.Annotations = map[string]string{AnnotationSubject: subject.Digest.String(), AnnotationSubjectRoot: root.String()}
				rs[i] = r
			}
			if err := tx.AddReferrers(subject.Digest, rs...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return refs, nil
}

// rootsOf returns nothing when d is a top-level entry of idx, and
// otherwise the top-level indexes that contain d (at any depth), whose
// digest its referrers carry as their subject root.
func (l *Layout) rootsOf(ctx context.Context, idx *imgspecv1.Index, d digest.Digest) ([]digest.Digest, error) {
	for _, e := range idx.Manifests {
		if e.Digest == d {
			return nil, nil
		}
	}
	var roots []digest.Digest
	seen := map[digest.Digest]bool{}
	for _, e := range idx.Manifests {
		if e.Annotations[AnnotationSubject] != "" || seen[e.Digest] {
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

// Referrers returns the referrers of subject that the layout records, in
// the order they were written: the index.json entries marked with its
// digest, then any others its referrers fallback tag lists (written by
// another tool), each once; only those of artifactType unless it is "".
// It reads index.json and at most the fallback tag's index, never the
// referrers themselves: a caller that trusts a referrer must read it
// (ReadBlob verifies it) and check that its subject is subject, so that a
// referrer cannot be moved to another image by editing index.json.
func (l *Layout) Referrers(ctx context.Context, subject digest.Digest, artifactType string) ([]imgspecv1.Descriptor, error) {
	s, idx, err := l.scanIndex(ctx)
	if err != nil {
		return nil, err
	}
	// Only the entries named tag or marked with subject matter: those are
	// the only ones decoded.
	return l.referrersFrom(ctx, entriesOf(s, idx, referrersTag(subject), subject.String()), subject, artifactType)
}

// referrersFrom is Referrers given entries of index.json that hold at
// least those named subject's fallback tag and those marked with subject
// (others are passed over).
func (l *Layout) referrersFrom(ctx context.Context, entries []imgspecv1.Descriptor, subject digest.Digest, artifactType string) ([]imgspecv1.Descriptor, error) {
	tag := referrersTag(subject)
	var out []imgspecv1.Descriptor
	seen := map[digest.Digest]bool{}
	add := func(d imgspecv1.Descriptor) {
		if seen[d.Digest] || (artifactType != "" && d.ArtifactType != artifactType) {
			return
		}
		seen[d.Digest] = true
		out = append(out, d)
	}
	var tagEntry *imgspecv1.Descriptor
	for i, e := range entries {
		if entryName(e) == tag {
			tagEntry = &entries[i]
			continue
		}
		if e.Annotations[AnnotationSubject] == subject.String() {
			add(e)
		}
	}
	if tagEntry != nil {
		list, ok, err := l.fallbackTagList(ctx, *tagEntry, subject)
		if err != nil {
			return nil, err
		}
		if ok {
			for _, d := range list.Manifests {
				add(d)
			}
		}
	}
	return out, nil
}

// writeReferrersTag stores the fallback index of subject's referrers and
// points tag at it, in place if the tag exists. The tag's entry carries
// AnnotationSubject too, so that it goes with its subject on a tag move
// and is not taken for an image when a layout is opened without a name.
// The referrers in removed are left out even when the old tag lists them;
// a tag of ours left listing nothing is dropped. It returns the entries it
// replaced or dropped, whose blobs may now be garbage.
func (l *Layout) writeReferrersTag(ctx context.Context, idx *imgspecv1.Index, subject digest.Digest, tag string, removed map[digest.Digest]bool) ([]imgspecv1.Descriptor, error) {
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
		if entryName(e) != tag {
			continue
		}
		old, ok, err := l.fallbackTagList(ctx, e, subject)
		if err != nil {
			return nil, err
		}
		if !ok {
			// A user's image holds the name: it stays, and the referrers
			// are recorded only as the untagged entries carrying
			// AnnotationSubject, which this module, oras-go and
			// notation read.
			return nil, nil
		}
		for _, r := range old.Manifests {
			if listed[r.Digest] || removed[r.Digest] {
				continue
			}
			listed[r.Digest] = true
			list.Manifests = append(list.Manifests, r)
			foreign++
		}
	}
	if len(list.Manifests) == 0 {
		var dropped []imgspecv1.Descriptor
		kept := idx.Manifests[:0]
		for _, e := range idx.Manifests {
			if entryName(e) != tag || e.Annotations[AnnotationSubject] != subject.String() {
				kept = append(kept, e)
			} else {
				dropped = append(dropped, e)
			}
		}
		idx.Manifests = kept
		return dropped, nil
	}
	data, err := json.Marshal(list)
	if err != nil {
		return nil, fmt.Errorf("encoding referrers index of %s: %w", subject, err)
	}
	d, err := l.putBytes(ctx, data)
	if err != nil {
		return nil, err
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
			if e.Digest == entry.Digest {
				return nil, nil
			}
			return []imgspecv1.Descriptor{e}, nil
		}
	}
	idx.Manifests = append(idx.Manifests, entry)
	return nil, nil
}
