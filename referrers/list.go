package referrers

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ocilayout/ocilayout/layout"
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// How a referrer was found, in Referrer.Source.
const (
	SourceIndex       = "index"        // an index.json entry marked with its subject
	SourceFallbackTag = "fallback-tag" // listed by the subject's "sha256-HEX" tag index
	SourceManifest    = "manifest"     // an unmarked entry whose manifest names the subject
	SourceCosignTag   = "cosign-tag"   // cosign's "sha256-HEX.sig/.att/.sbom" tag
)

// cosignSuffixes are the tag suffixes cosign gives a subject's signature,
// attestation and SBOM.
var cosignSuffixes = []string{"sig", "att", "sbom"}

// CosignArtifactType is the artifact type a cosign tag is listed with when
// its entry has none: the one cosign itself uses for the same kind of
// attachment stored as an OCI 1.1 referrer ("sig", "att" or "sbom").
func CosignArtifactType(suffix string) string {
	return "application/vnd.dev.cosign.artifact." + suffix + ".v1+json"
}

// CosignTag is the tag cosign stores subject's attachment of kind suffix
// ("sig", "att", "sbom") under.
func CosignTag(subject digest.Digest, suffix string) string {
	return subject.Algorithm().String() + "-" + subject.Encoded() + "." + suffix
}

// Referrer is one referrer of a manifest and, when listed recursively, its
// own referrers.
type Referrer struct {
	imgspecv1.Descriptor
	// Source says how it was found (SourceIndex, ...).
	Source string `json:"source"`
	// Tag is the cosign tag that holds it, if any.
	Tag string `json:"tag,omitempty"`
	// Referrers are its own referrers (a signature of an SBOM).
	Referrers []Referrer `json:"referrers,omitempty"`
}

// readManifest reads a candidate's manifest. Tests wrap it to count the
// manifests a listing opens.
var readManifest = func(ctx context.Context, l *layout.Layout, d imgspecv1.Descriptor) ([]byte, error) {
	return l.ReadBlob(ctx, d.Digest, d.Size)
}

// finder answers "what refers to X" for one listing: index.json is read
// once, and each candidate manifest at most once, however deep the listing.
type finder struct {
	l       *layout.Layout
	idx     *imgspecv1.Index
	foreign map[digest.Digest][]imgspecv1.Descriptor // subject → unmarked referrers; nil until needed
	cosign  map[string]imgspecv1.Descriptor          // cosign tag → entry
}

func newFinder(ctx context.Context, l *layout.Layout) (*finder, error) {
	idx, err := l.Index(ctx)
	if err != nil {
		return nil, err
	}
	f := &finder{l: l, idx: idx, cosign: map[string]imgspecv1.Descriptor{}}
	for _, e := range idx.Manifests {
		if n := e.Annotations[imgspecv1.AnnotationRefName]; isCosignTag(n) {
			f.cosign[n] = e
		}
	}
	return f, nil
}

func isCosignTag(name string) bool {
	alg, rest, ok := strings.Cut(name, "-")
	if !ok || alg == "" {
		return false
	}
	hex, suffix, ok := strings.Cut(rest, ".")
	if !ok || digest.NewDigestFromEncoded(digest.Algorithm(alg), hex).Validate() != nil {
		return false
	}
	for _, s := range cosignSuffixes {
		if suffix == s {
			return true
		}
	}
	return false
}

// isCandidate tells whether an entry that carries no subject annotation can
// be a referrer written by another tool: oras-go and notation record a
// referrer as an untagged entry whose descriptor has the manifest's
// artifactType. A tagged entry, an index, or an entry without artifactType
// is an image (or an instance oras-go recorded), never opened.
func isCandidate(e imgspecv1.Descriptor) bool {
	return e.Annotations[imgspecv1.AnnotationRefName] == "" &&
		e.Annotations[layout.AnnotationSubject] == "" &&
		e.ArtifactType != "" &&
		e.MediaType == imgspecv1.MediaTypeImageManifest
}

// scanForeign reads the candidates' manifests, once per listing.
func (f *finder) scanForeign(ctx context.Context) error {
	if f.foreign != nil {
		return nil
	}
	f.foreign = map[digest.Digest][]imgspecv1.Descriptor{}
	seen := map[digest.Digest]bool{}
	for _, e := range f.idx.Manifests {
		if !isCandidate(e) || seen[e.Digest] {
			continue
		}
		seen[e.Digest] = true
		data, err := readManifest(ctx, f.l, e)
		if err != nil {
			return fmt.Errorf("reading candidate referrer %s: %w", e.Digest, err)
		}
		var m struct {
			ArtifactType string                `json:"artifactType"`
			Subject      *imgspecv1.Descriptor `json:"subject"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			return fmt.Errorf("decoding candidate referrer %s: %w", e.Digest, err)
		}
		if m.Subject == nil {
			continue
		}
		d := imgspecv1.Descriptor{MediaType: e.MediaType, ArtifactType: m.ArtifactType, Digest: e.Digest, Size: e.Size}
		f.foreign[m.Subject.Digest] = append(f.foreign[m.Subject.Digest], d)
	}
	return nil
}

// direct returns subject's own referrers of artifactType ("" for any).
func (f *finder) direct(ctx context.Context, subject digest.Digest, artifactType string) ([]Referrer, error) {
	var out []Referrer
	seen := map[digest.Digest]bool{}
	names := map[digest.Digest]bool{} // entries of ours that are tagged (cosign tags we carried)
	add := func(d imgspecv1.Descriptor, source, tag string) {
		if seen[d.Digest] || (artifactType != "" && d.ArtifactType != artifactType) {
			return
		}
		seen[d.Digest] = true
		out = append(out, Referrer{Descriptor: imgspecv1.Descriptor{MediaType: d.MediaType, ArtifactType: d.ArtifactType, Digest: d.Digest, Size: d.Size}, Source: source, Tag: tag})
	}
	marked := map[digest.Digest]bool{}
	for _, e := range f.idx.Manifests {
		if e.Annotations[layout.AnnotationSubject] == subject.String() {
			marked[e.Digest] = true
			if n := e.Annotations[imgspecv1.AnnotationRefName]; isCosignTag(n) {
				names[e.Digest] = true
			}
		}
	}
	known, err := f.l.Referrers(ctx, subject, "")
	if err != nil {
		return nil, err
	}
	for _, d := range known {
		if names[d.Digest] {
			continue // listed below with its tag
		}
		if marked[d.Digest] {
			add(d, SourceIndex, "")
		} else {
			add(d, SourceFallbackTag, "")
		}
	}
	if err := f.scanForeign(ctx); err != nil {
		return nil, err
	}
	for _, d := range f.foreign[subject] {
		add(d, SourceManifest, "")
	}
	for _, s := range cosignSuffixes {
		tag := CosignTag(subject, s)
		e, ok := f.cosign[tag]
		if !ok {
			continue
		}
		if e.ArtifactType == "" {
			e.ArtifactType = CosignArtifactType(s)
		}
		add(e, SourceCosignTag, tag)
	}
	return out, nil
}

// List returns the referrers of subject in l that any tool recorded, of
// artifactType only unless it is "", in the order: ours (in write order),
// the fallback tag's others, unmarked ones, cosign tags. With recursive,
// each carries its own referrers (of any type) down to any depth.
//
// It reads index.json, the fallback tag indexes of the subjects it lists,
// and the manifests of the unmarked candidate entries (see the package
// documentation), each once; never an image's manifest. What it returns is
// what the layout records: a caller that trusts a referrer reads it
// (ReadBlob verifies it) and checks its subject.
func List(ctx context.Context, l *layout.Layout, subject digest.Digest, artifactType string, recursive bool) ([]Referrer, error) {
	f, err := newFinder(ctx, l)
	if err != nil {
		return nil, err
	}
	return f.list(ctx, subject, artifactType, recursive, map[digest.Digest]bool{subject: true})
}

func (f *finder) list(ctx context.Context, subject digest.Digest, artifactType string, recursive bool, path map[digest.Digest]bool) ([]Referrer, error) {
	rs, err := f.direct(ctx, subject, artifactType)
	if err != nil {
		return nil, err
	}
	if !recursive {
		return rs, nil
	}
	for i := range rs {
		d := rs[i].Digest
		if path[d] {
			continue // a cycle can only come from a forged index.json
		}
		path[d] = true
		if rs[i].Referrers, err = f.list(ctx, d, "", true, path); err != nil {
			return nil, err
		}
		delete(path, d)
	}
	return rs, nil
}
