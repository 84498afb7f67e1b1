package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// resolveManifest finds what repo and ref (a tag or a digest) name.
// Digests are served in every repository: the layout has one namespace of
// content, and an untagged entry belongs to no repository.
func (s *server) resolveManifest(r *http.Request, repo, ref string) (*snapshot, imgspecv1.Descriptor, *apiError) {
	snap, err := s.cache.get(r.Context())
	if err != nil {
		return nil, imgspecv1.Descriptor{}, internalError(err)
	}
	if strings.Contains(ref, ":") {
		d, e := parseDigest(ref)
		if e != nil {
			return nil, imgspecv1.Descriptor{}, e
		}
		desc, ok := snap.manifest(d)
		if !ok {
			return nil, imgspecv1.Descriptor{}, newError(http.StatusNotFound, codeManifestUnknown, "manifest "+ref+" is not in the layout")
		}
		return snap, desc, nil
	}
	if !validTag(ref) {
		return nil, imgspecv1.Descriptor{}, newError(http.StatusBadRequest, codeTagInvalid, "invalid tag "+ref)
	}
	e, ok, repoKnown := snap.lookupTag(repo, ref)
	if !ok {
		if !repoKnown {
			return nil, imgspecv1.Descriptor{}, newError(http.StatusNotFound, codeNameUnknown, "repository "+repo+" has no tags")
		}
		return nil, imgspecv1.Descriptor{}, newError(http.StatusNotFound, codeManifestUnknown, "no tag "+ref+" in "+repo)
	}
	return snap, e.descriptor(), nil
}

// getManifest answers GET and HEAD of a manifest. The manifest is read
// whole and verified against its descriptor's digest and size every time
// (it is at most 4 MiB and usually a few hundred bytes), so a corrupt
// one is answered 404 with the reason, never served.
func (s *server) getManifest(w http.ResponseWriter, r *http.Request, repo, ref string) *apiError {
	_, desc, e := s.resolveManifest(r, repo, ref)
	if e != nil {
		return e
	}
	data, err := s.s.readBlob(r.Context(), desc.Digest, desc.Size)
	if err != nil {
		return blobError(codeManifestUnknown, desc.Digest, err)
	}
	mt := desc.MediaType
	if mt == "" {
		mt = sniffMediaType(data)
	}
	h := w.Header()
	h.Set("Content-Type", mt)
	h.Set("Content-Length", strconv.Itoa(len(data)))
	h.Set("Docker-Content-Digest", desc.Digest.String())
	h.Set("ETag", `"`+desc.Digest.String()+`"`)
	if r.Method == http.MethodGet {
		_, _ = w.Write(data)
	}
	return nil
}

// manifestFields are the parts of a manifest or index a push checks.
type manifestFields struct {
	MediaType    string                 `json:"mediaType"`
	ArtifactType string                 `json:"artifactType"`
	Config       *imgspecv1.Descriptor  `json:"config"`
	Layers       []imgspecv1.Descriptor `json:"layers"`
	Manifests    []imgspecv1.Descriptor `json:"manifests"`
	Subject      *imgspecv1.Descriptor  `json:"subject"`
	Annotations  map[string]string      `json:"annotations"`
	Blobs        []imgspecv1.Descriptor `json:"blobs"`
}

// sniffMediaType is the media type of a manifest whose descriptor has
// none: its own mediaType field, or what its shape says.
func sniffMediaType(data []byte) string {
	var m manifestFields
	if json.Unmarshal(data, &m) != nil {
		return "application/octet-stream"
	}
	switch {
	case m.MediaType != "":
		return m.MediaType
	case m.Manifests != nil:
		return imgspecv1.MediaTypeImageIndex
	default:
		return imgspecv1.MediaTypeImageManifest
	}
}

// pushableTypes are the manifest media types a push may store: those the
// engine walks (gc keeps what they reference).
var pushableTypes = map[string]bool{
	imgspecv1.MediaTypeImageManifest: true,
	imgspecv1.MediaTypeImageIndex:    true,
	mediaTypeDockerManifest:          true,
	mediaTypeDockerList:              true,
}

// putManifest stores a pushed manifest and records it in index.json, under
// the tag's name (or the names of ?tag= parameters of a push by digest),
// or untagged. Everything it references must be in the
// layout already (blobs, and the manifests of an index), except
// non-distributable layers and the subject, which may come later: so a
// manifest never names content the layout lacks. The write lease is held
// from the check to the index update, so gc cannot take the content away
// in between.
func (s *server) putManifest(w http.ResponseWriter, r *http.Request, repo, ref string) *apiError {
	ctx := r.Context()
	data, err := io.ReadAll(io.LimitReader(r.Body, maxManifestSize+1))
	if err != nil {
		return newError(http.StatusBadRequest, codeManifestInvalid, "reading manifest: "+err.Error())
	}
	if len(data) > maxManifestSize {
		return newError(http.StatusRequestEntityTooLarge, codeSizeInvalid, fmt.Sprintf("manifest larger than %d bytes", maxManifestSize))
	}
	var m manifestFields
	if err := json.Unmarshal(data, &m); err != nil {
		return newError(http.StatusBadRequest, codeManifestInvalid, "manifest is not JSON: "+err.Error())
	}
	mt := r.Header.Get("Content-Type")
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = strings.TrimSpace(mt[:i])
	}
	if m.MediaType != "" && mt != "" && m.MediaType != mt {
		return newError(http.StatusBadRequest, codeManifestInvalid, fmt.Sprintf("Content-Type %s differs from the manifest's mediaType %s", mt, m.MediaType))
	}
	if mt == "" {
		mt = m.MediaType
	}
	if !pushableTypes[mt] {
		return newError(http.StatusBadRequest, codeManifestInvalid, "unsupported manifest media type "+strconv.Quote(mt))
	}
	alg := digest.Canonical
	var tags []string
	if strings.Contains(ref, ":") {
		want, e := parseDigest(ref)
		if e != nil {
			return e
		}
		alg = want.Algorithm()
		if got := alg.FromBytes(data); got != want {
			return newError(http.StatusBadRequest, codeDigestInvalid, fmt.Sprintf("manifest has digest %s, not %s", got, want))
		}
		tags = r.URL.Query()["tag"] // a push by digest may tag it too
	} else {
		tags = []string{ref}
	}
	for _, t := range tags {
		if !validTag(t) {
			return newError(http.StatusBadRequest, codeTagInvalid, "invalid tag "+t)
		}
	}
	d := alg.FromBytes(data)

	release, err := s.leases.acquire()
	if err != nil {
		return internalError(err)
	}
	defer release()
	snap, err := s.cache.get(ctx)
	if err != nil {
		return internalError(err)
	}
	if e := s.checkReferences(r, snap, &m); e != nil {
		return e
	}
	var names []string
	for _, tag := range tags {
		name := s.names.Join(repo, tag)
		if old, ok, _ := snap.lookupTag(repo, tag); ok {
			name = old.name
		}
		if !validName(name) {
			return newError(http.StatusBadRequest, codeTagInvalid, fmt.Sprintf("%s:%s cannot be an index.json ref.name", repo, tag))
		}
		names = append(names, name)
	}
	if err := s.s.putBlob(ctx, bytes.NewReader(data), d, int64(len(data))); err != nil {
		return internalError(err)
	}
	desc := imgspecv1.Descriptor{MediaType: mt, Digest: d, Size: int64(len(data)), ArtifactType: m.ArtifactType}
	if desc.ArtifactType == "" && m.Subject != nil && m.Config != nil && mt == imgspecv1.MediaTypeImageManifest {
		desc.ArtifactType = m.Config.MediaType
	}
	if m.Subject != nil {
		// The engine's referrer mark: list, delete and gc find referrers
		// by it without reading manifests.
		desc.Annotations = map[string]string{annotationSubject: m.Subject.Digest.String()}
	}
	if err := s.s.addManifest(ctx, desc, names); err != nil {
		return internalError(err)
	}
	h := w.Header()
	h.Set("Location", "/v2/"+repo+"/manifests/"+d.String())
	h.Set("Docker-Content-Digest", d.String())
	if m.Subject != nil {
		h.Set("OCI-Subject", m.Subject.Digest.String())
	}
	if strings.Contains(ref, ":") && len(tags) > 0 {
		h.Set("OCI-Tag", strings.Join(tags, ", "))
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

// checkReferences refuses a manifest that names content the layout lacks.
func (s *server) checkReferences(r *http.Request, snap *snapshot, m *manifestFields) *apiError {
	var blobs []imgspecv1.Descriptor
	if m.Config != nil {
		blobs = append(blobs, *m.Config)
	}
	for _, l := range append(append([]imgspecv1.Descriptor(nil), m.Layers...), m.Blobs...) {
		if len(l.URLs) > 0 || strings.Contains(l.MediaType, "nondistributable") {
			continue // fetched from its URLs, never pushed
		}
		blobs = append(blobs, l)
	}
	for _, b := range blobs {
		if b.Digest.Validate() != nil {
			return newError(http.StatusBadRequest, codeManifestInvalid, "invalid digest "+string(b.Digest))
		}
		if !s.haveBlob(r, b.Digest, b.Size) {
			return newError(http.StatusBadRequest, codeManifestBlobUnknown, "blob "+b.Digest.String()+" is not in the layout")
		}
	}
	for _, c := range m.Manifests {
		if c.Digest.Validate() != nil {
			return newError(http.StatusBadRequest, codeManifestInvalid, "invalid digest "+string(c.Digest))
		}
		if _, ok := snap.manifest(c.Digest); !ok && !s.haveBlob(r, c.Digest, c.Size) {
			return newError(http.StatusBadRequest, codeManifestBlobUnknown, "manifest "+c.Digest.String()+" is not in the layout")
		}
	}
	return nil
}

// deleteManifest removes a tag, or a digest's entries, from index.json.
//
// Blobs are not removed here: that is gc's work, which must wait for every
// writer of every process (it takes the write lease exclusively), and a
// request must not wait on that, nor deadlock on this server's own open
// uploads. So DELETE unreferences, like distribution's registry, and
// `ocilayout gc` reclaims, also dropping referrers left without subject.
//
// A tag delete removes the entries that repository:tag names; the engine
// keeps no untagged leftovers of a tag (see layout.AddManifest), so the
// manifest goes with its last tag. A digest delete removes the untagged
// entries of that digest and the tagged ones in this repository.
func (s *server) deleteManifest(w http.ResponseWriter, r *http.Request, repo, ref string) *apiError {
	var drop func(imgspecv1.Descriptor) bool
	if strings.Contains(ref, ":") {
		d, e := parseDigest(ref)
		if e != nil {
			return e
		}
		drop = func(e imgspecv1.Descriptor) bool {
			if e.Digest != d {
				return false
			}
			name := e.Annotations[imgspecv1.AnnotationRefName]
			if name == "" {
				return true
			}
			rp, _, ok := s.names.Split(name)
			return ok && rp == repo
		}
	} else {
		if !validTag(ref) {
			return newError(http.StatusBadRequest, codeTagInvalid, "invalid tag "+ref)
		}
		drop = func(e imgspecv1.Descriptor) bool {
			rp, tg, ok := entryTag(s.names, e)
			return ok && rp == repo && tg == ref
		}
	}
	n, err := s.s.removeEntries(r.Context(), drop)
	if err != nil {
		return internalError(err)
	}
	if n == 0 {
		return newError(http.StatusNotFound, codeManifestUnknown, "no manifest "+ref+" in "+repo)
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// internalError is a failure of the server or the layout, not the request.
func internalError(err error) *apiError {
	return newError(http.StatusInternalServerError, codeUnknown, err.Error())
}

// blobError maps an engine error about content d to the answer: absent and
// corrupt content are both unknown to a client (a corrupt blob is never
// served, and a push of the right content repairs it), with the reason.
func blobError(code string, d digest.Digest, err error) *apiError {
	if isNotExist(err) || isIntegrityError(err) {
		return newError(http.StatusNotFound, code, err.Error())
	}
	return internalError(err)
}
