package referrers

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

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
	l        *layout.Layout
	idx      *imgspecv1.Index
	marked   map[digest.Digest][]imgspecv1.Descriptor // subject → our entries (AnnotationSubject)
	fallback map[string]imgspecv1.Descriptor          // "ALG-HEX" index entries
	cosign   map[string]imgspecv1.Descriptor          // cosign tag → entry
	foreign  map[digest.Digest][]imgspecv1.Descriptor // subject → unmarked referrers; nil until needed
}

func newFinder(ctx context.Context, l *layout.Layout) (*finder, error) {
	idx, err := l.Index(ctx)
	if err != nil {
		return nil, err
	}
	f := &finder{l: l, idx: idx, marked: map[digest.Digest][]imgspecv1.Descriptor{},
		fallback: map[string]imgspecv1.Descriptor{}, cosign: map[string]imgspecv1.Descriptor{}}
	for _, e := range idx.Manifests {
		name := e.Annotations[imgspecv1.AnnotationRefName]
		switch {
		case isCosignTag(name):
			f.cosign[name] = e
		case isFallbackTag(name) && e.MediaType == imgspecv1.MediaTypeImageIndex:
			f.fallback[name] = e
			continue // the tag's own entry is no referrer, whatever it is marked with
		}
		if s := e.Annotations[layout.AnnotationSubject]; s != "" {
			f.marked[digest.Digest(s)] = append(f.marked[digest.Digest(s)], e)
		}
	}
	return f, nil
}

// fallbackTag is the OCI referrers fallback tag of subject, "ALG-HEX".
func fallbackTag(subject digest.Digest) string {
	return subject.Algorithm().String() + "-" + subject.Encoded()
}

func isFallbackTag(name string) bool {
	alg, hex, ok := strings.Cut(name, "-")
	return ok && digest.NewDigestFromEncoded(digest.Algorithm(alg), hex).Validate() == nil
}

func isCosignTag(name string) bool {
	_, ok := cosignSubject(name)
	return ok
}

// cosignSubject is the subject a cosign attachment tag names.
func cosignSubject(tag string) (digest.Digest, bool) {
	base, suffix, ok := strings.Cut(tag, ".")
	if !ok || !slices.Contains(cosignSuffixes, suffix) || !isFallbackTag(base) {
		return "", false
	}
	alg, hex, _ := strings.Cut(base, "-")
	return digest.NewDigestFromEncoded(digest.Algorithm(alg), hex), true
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

// subjectOf remembers, per manifest digest, the subject a candidate's
// manifest names ("" for none) and its artifact type: content-addressed
// facts, true for every layout, so a process lists a candidate's manifest
// once and not on every listing. Bounded by a reset.
var subjectOf = struct {
	sync.Mutex
	m map[digest.Digest][2]string
}{m: map[digest.Digest][2]string{}}

const subjectCacheMax = 100_000

// scanForeign reads the candidates' manifests (those not remembered).
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
		subjectOf.Lock()
		facts, ok := subjectOf.m[e.Digest]
		subjectOf.Unlock()
		if !ok {
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
			facts[1] = m.ArtifactType
			if m.Subject != nil {
				facts[0] = m.Subject.Digest.String()
			}
			subjectOf.Lock()
			if len(subjectOf.m) >= subjectCacheMax {
				clear(subjectOf.m)
			}
			subjectOf.m[e.Digest] = facts
			subjectOf.Unlock()
		}
		if facts[0] == "" {
			continue
		}
		d := imgspecv1.Descriptor{MediaType: e.MediaType, ArtifactType: facts[1], Digest: e.Digest, Size: e.Size}
		f.foreign[digest.Digest(facts[0])] = append(f.foreign[digest.Digest(facts[0])], d)
	}
	return nil
}

// collector gathers referrers once each, of artifactType only unless it
// is "": the same rule for a layout's and a registry's lists.
type collector struct {
	artifactType string
	seen         map[digest.Digest]bool
	out          []Referrer
}

func (c *collector) add(d imgspecv1.Descriptor, source, tag string) {
	if c.seen[d.Digest] || (c.artifactType != "" && d.ArtifactType != c.artifactType) {
		return
	}
	if c.seen == nil {
		c.seen = map[digest.Digest]bool{}
	}
	c.seen[d.Digest] = true
	c.out = append(c.out, Referrer{Descriptor: imgspecv1.Descriptor{MediaType: d.MediaType, ArtifactType: d.ArtifactType, Digest: d.Digest, Size: d.Size}, Source: source, Tag: tag})
}

// direct returns subject's own referrers of artifactType ("" for any).
func (f *finder) direct(ctx context.Context, subject digest.Digest, artifactType string) ([]Referrer, error) {
	c := collector{artifactType: artifactType}
	add := c.add
	for _, e := range f.marked[subject] {
		if !isCosignTag(e.Annotations[imgspecv1.AnnotationRefName]) { // listed below with their tag
			add(e, SourceIndex, "")
		}
	}
	if e, ok := f.fallback[fallbackTag(subject)]; ok {
		data, err := f.l.ReadBlob(ctx, e.Digest, e.Size)
		if err != nil {
			return nil, fmt.Errorf("reading referrers tag %s: %w", fallbackTag(subject), err)
		}
		var list imgspecv1.Index
		if err := json.Unmarshal(data, &list); err != nil {
			return nil, fmt.Errorf("decoding referrers tag %s: %w", fallbackTag(subject), err)
		}
		for _, d := range list.Manifests {
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
	return c.out, nil
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
