package serve

import (
	"encoding/json"
	"net/http"
	"strconv"

	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// listReferrers answers GET /v2/<name>/referrers/<digest>: an image index
// of the manifests whose subject is digest, with the artifactType filter.
// Referrers are the index.json entries the engine marks with
// annotationSubject (signatures ocilayout stored, and pushed manifests
// with a subject) and untagged entries whose manifest has that subject
// (as oras and notation write them). Each is read and verified, and
// listed only if its subject really is digest. The answer is 200 with an
// empty index when there are none, as the spec requires.
func (s *server) listReferrers(w http.ResponseWriter, r *http.Request, repo, ref string) *apiError {
	d, e := parseDigest(ref)
	if e != nil {
		return e
	}
	snap, err := s.cache.get(r.Context())
	if err != nil {
		return internalError(err)
	}
	filter := r.URL.Query().Get("artifactType")
	out := imgspecv1.Index{Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageIndex, Manifests: []imgspecv1.Descriptor{}}
	for _, ent := range snap.referrersOf(d) {
		data, err := s.s.readBlob(r.Context(), ent.digest, ent.size)
		if err != nil {
			continue
		}
		var m struct {
			MediaType    string                `json:"mediaType"`
			ArtifactType string                `json:"artifactType"`
			Config       *imgspecv1.Descriptor `json:"config"`
			Subject      *imgspecv1.Descriptor `json:"subject"`
			Annotations  map[string]string     `json:"annotations"`
		}
		if json.Unmarshal(data, &m) != nil || m.Subject == nil || m.Subject.Digest != d {
			continue
		}
		at := m.ArtifactType
		if at == "" && m.Config != nil {
			at = m.Config.MediaType
		}
		if filter != "" && at != filter {
			continue
		}
		mt := ent.mediaType
		if mt == "" {
			mt = m.MediaType
		}
		out.Manifests = append(out.Manifests, imgspecv1.Descriptor{MediaType: mt, ArtifactType: at, Digest: ent.digest, Size: ent.size, Annotations: m.Annotations})
	}
	data, _ := json.Marshal(out)
	h := w.Header()
	if filter != "" {
		h.Set("OCI-Filters-Applied", "artifactType")
	}
	h.Set("Content-Type", imgspecv1.MediaTypeImageIndex)
	h.Set("Content-Length", strconv.Itoa(len(data)))
	if r.Method != http.MethodHead {
		_, _ = w.Write(data)
	}
	return nil
}
