package referrers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"

	"github.com/ocilayout/ocilayout/layout"
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"
)

// maxManifest bounds a manifest read into memory, as layout.ReadBlob does.
const maxManifest = 4 << 20

// layoutStore is a layout seen as an oras-go graph target, so that
// oras.ExtendedCopyGraph copies between it and a registry (or another
// layout). Reads go through the engine's verified readers. Writes put
// blobs at once (under the WriteLease Copy holds) and keep the referrer
// entries and tags for commit, which records them in one index
// transaction: a copy that fails leaves index.json untouched.
type layoutStore struct {
	l *layout.Layout

	mu   sync.Mutex
	refs []pendingRef
	tags []pendingTag
}

type pendingRef struct {
	subject digest.Digest
	entry   imgspecv1.Descriptor
}

type pendingTag struct {
	name    string
	subject digest.Digest
	desc    imgspecv1.Descriptor
}

func (s *layoutStore) Fetch(ctx context.Context, d imgspecv1.Descriptor) (io.ReadCloser, error) {
	rc, _, err := s.l.BlobReader(ctx, d.Digest, d.Size)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", d.Digest, errdef.ErrNotFound)
	}
	return rc, err
}

// Exists reports a blob of the right size as present: PutBlob verifies
// what it stores and replaces a rotten blob, and readers verify.
func (s *layoutStore) Exists(ctx context.Context, d imgspecv1.Descriptor) (bool, error) {
	f, err := s.l.OpenBlob(ctx, d.Digest)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, err
	}
	return st.Size() == d.Size, nil
}

func (s *layoutStore) Push(ctx context.Context, d imgspecv1.Descriptor, r io.Reader) error {
	if !isManifestType(d.MediaType) {
		_, _, err := s.l.PutBlob(ctx, r, d.Digest, d.Size)
		return err
	}
	data, err := io.ReadAll(io.LimitReader(r, maxManifest+1))
	if err != nil {
		return fmt.Errorf("reading manifest %s: %w", d.Digest, err)
	}
	if len(data) > maxManifest {
		return fmt.Errorf("manifest %s is larger than %d bytes", d.Digest, maxManifest)
	}
	if _, _, err := s.l.PutBlob(ctx, bytes.NewReader(data), d.Digest, d.Size); err != nil {
		return err
	}
	var m struct {
		ArtifactType string                `json:"artifactType"`
		Subject      *imgspecv1.Descriptor `json:"subject"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("decoding manifest %s: %w", d.Digest, err)
	}
	if m.Subject == nil {
		return nil // a part of an image, or a cosign tag's manifest (see Tag)
	}
	entry := imgspecv1.Descriptor{
		MediaType:    d.MediaType,
		ArtifactType: m.ArtifactType,
		Digest:       d.Digest,
		Size:         d.Size,
		Annotations:  map[string]string{layout.AnnotationSubject: m.Subject.Digest.String()},
	}
	s.mu.Lock()
	s.refs = append(s.refs, pendingRef{subject: m.Subject.Digest, entry: entry})
	s.mu.Unlock()
	return nil
}

// Resolve takes a name of the layout or a digest ("sha256:…", at any
// depth of its indexes).
func (s *layoutStore) Resolve(ctx context.Context, ref string) (imgspecv1.Descriptor, error) {
	sel := ref
	if _, err := digest.Parse(ref); err == nil {
		sel = "@" + ref
	}
	parsed, err := layout.ParseSelector(sel)
	if err != nil {
		return imgspecv1.Descriptor{}, err
	}
	d, err := s.l.Lookup(ctx, parsed)
	if errors.Is(err, layout.ErrNotFound) {
		return imgspecv1.Descriptor{}, fmt.Errorf("%s: %w", ref, errdef.ErrNotFound)
	}
	return imgspecv1.Descriptor{MediaType: d.MediaType, ArtifactType: d.ArtifactType, Digest: d.Digest, Size: d.Size}, err
}

// Tag keeps a tag for commit. Copy tags only cosign's attachments, whose
// entry is marked with the subject so that it leaves with it.
func (s *layoutStore) Tag(ctx context.Context, d imgspecv1.Descriptor, name string) error {
	if err := layout.ValidateName(name); err != nil {
		return err
	}
	subject, ok := cosignSubject(name)
	if !ok {
		return fmt.Errorf("tag %q: only cosign attachment tags are carried with referrers", name)
	}
	s.mu.Lock()
	s.tags = append(s.tags, pendingTag{name: name, subject: subject, desc: d})
	s.mu.Unlock()
	return nil
}

// Predecessors are a node's direct referrers, as List finds them, without
// cosign tags (their manifests have no subject: Copy carries them as tags).
func (s *layoutStore) Predecessors(ctx context.Context, node imgspecv1.Descriptor) ([]imgspecv1.Descriptor, error) {
	f, err := newFinder(ctx, s.l)
	if err != nil {
		return nil, err
	}
	rs, err := f.direct(ctx, node.Digest, "")
	if err != nil {
		return nil, err
	}
	var out []imgspecv1.Descriptor
	for _, r := range rs {
		if r.Source != SourceCosignTag {
			out = append(out, r.Descriptor)
		}
	}
	return out, nil
}

// commit records what the copy pushed in one index transaction. A
// referrer whose subject is an instance inside indexes (copy --all) gets
// an entry per such index, marked with its root, as Layout.Attach does.
func (s *layoutStore) commit(ctx context.Context) error {
	s.mu.Lock()
	refs, tags := s.refs, s.tags
	s.refs, s.tags = nil, nil
	s.mu.Unlock()
	if len(refs) == 0 && len(tags) == 0 {
		return nil
	}
	return s.l.Update(ctx, func(tx *layout.IndexTx) error {
		roots := map[digest.Digest][]digest.Digest{}
		for _, r := range refs {
			rs, ok := roots[r.subject]
			if !ok {
				var err error
				if rs, err = s.rootsOf(ctx, tx.Entries(), r.subject); err != nil {
					return err
				}
				roots[r.subject] = rs
			}
			if len(rs) == 0 {
				if err := tx.AddReferrers(r.subject, r.entry); err != nil {
					return err
				}
			}
			for _, root := range rs {
				e := r.entry
				e.Annotations = map[string]string{layout.AnnotationSubject: r.subject.String(), layout.AnnotationSubjectRoot: root.String()}
				if err := tx.AddReferrers(r.subject, e); err != nil {
					return err
				}
			}
		}
		for _, t := range tags {
			d := imgspecv1.Descriptor{MediaType: t.desc.MediaType, ArtifactType: t.desc.ArtifactType, Digest: t.desc.Digest, Size: t.desc.Size,
				Annotations: map[string]string{layout.AnnotationSubject: t.subject.String()}}
			if err := tx.Tag(d, t.name); err != nil {
				return err
			}
		}
		return nil
	})
}

// rootsOf returns nothing when d is a top-level entry, else the top-level
// indexes (not referrers) that hold d at any depth.
func (s *layoutStore) rootsOf(ctx context.Context, entries []imgspecv1.Descriptor, d digest.Digest) ([]digest.Digest, error) {
	for _, e := range entries {
		if e.Digest == d {
			return nil, nil
		}
	}
	var roots []digest.Digest
	done := map[digest.Digest]bool{}
	for _, e := range entries {
		if !isIndexType(e.MediaType) || e.Annotations[layout.AnnotationSubject] != "" || done[e.Digest] {
			continue
		}
		done[e.Digest] = true
		ok, err := s.holds(ctx, e, d, map[digest.Digest]bool{})
		if err != nil {
			return nil, err
		}
		if ok {
			roots = append(roots, e.Digest)
		}
	}
	return roots, nil
}

func (s *layoutStore) holds(ctx context.Context, idxDesc imgspecv1.Descriptor, d digest.Digest, seen map[digest.Digest]bool) (bool, error) {
	if seen[idxDesc.Digest] {
		return false, nil
	}
	seen[idxDesc.Digest] = true
	data, err := s.l.ReadBlob(ctx, idxDesc.Digest, idxDesc.Size)
	if err != nil {
		return false, fmt.Errorf("reading index %s: %w", idxDesc.Digest, err)
	}
	var idx imgspecv1.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return false, fmt.Errorf("decoding index %s: %w", idxDesc.Digest, err)
	}
	for _, c := range idx.Manifests {
		if c.Digest == d {
			return true, nil
		}
		if isIndexType(c.MediaType) {
			if ok, err := s.holds(ctx, c, d, seen); ok || err != nil {
				return ok, err
			}
		}
	}
	return false, nil
}

func isManifestType(t string) bool {
	switch t {
	case imgspecv1.MediaTypeImageManifest, imgspecv1.MediaTypeImageIndex,
		"application/vnd.docker.distribution.manifest.v2+json",
		"application/vnd.docker.distribution.manifest.list.v2+json":
		return true
	}
	return false
}

func isIndexType(t string) bool {
	return t == imgspecv1.MediaTypeImageIndex || t == "application/vnd.docker.distribution.manifest.list.v2+json"
}
