package layout

import (
	"context"
	"encoding/json"
	"strings"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// nodeKind is what a blob is to the walker: a leaf, a manifest (whose
// config, layers and blobs it follows) or an index (whose manifests it
// follows).
type nodeKind int

const (
	leafNode nodeKind = iota
	manifestNode
	indexNode
)

func (k nodeKind) String() string {
	switch k {
	case indexNode:
		return "index"
	case manifestNode:
		return "manifest"
	}
	return "blob"
}

// kindOfType is the kind a media type says, or leafNode when it says
// nothing the walker knows.
func kindOfType(t string) nodeKind {
	switch {
	case isIndexMediaType(t):
		return indexNode
	case isWalkable(t):
		return manifestNode
	}
	return leafNode
}

// classify says what the descriptor d, found where a manifest or an index
// belongs (an entry of index.json or of an index's manifests), is. Its
// mediaType decides when it names a manifest or index type. When it is
// missing or unknown, the content decides, as it does for the readers:
// containers/image guesses a manifest's type from its content
// (manifest.GuessMIMEType), so an index entry without mediaType is an image
// that inspect and copy read, and whose blobs GC must therefore keep. The
// content read is returned so that the walker does not read it twice.
//
// A blob too large to be a manifest (maxManifestSize, which the readers
// refuse too) or not a JSON object is a leaf: nothing can read descriptors
// out of it. One that cannot be read is an error: what it refers to is
// unknown, so the caller must not treat it as a leaf (GC would then
// collect its children).
func (l *Layout) classify(ctx context.Context, d imgspecv1.Descriptor) (nodeKind, []byte, error) {
	if k := kindOfType(d.MediaType); k != leafNode {
		return k, nil, nil
	}
	if d.Size > maxManifestSize {
		return leafNode, nil, nil
	}
	data, err := l.ReadBlob(ctx, d.Digest, d.Size)
	if err != nil {
		return leafNode, nil, err
	}
	return sniffKind(data), data, nil
}

// sniffKind classifies a document by its content: its own mediaType field
// when it names a type the walker knows, else its shape (manifests: an
// index; config, layers, blobs or fsLayers: a manifest), as
// containers/image's manifest.GuessMIMEType does.
func sniffKind(data []byte) nodeKind {
	var doc struct {
		MediaType string          `json:"mediaType"`
		Manifests json.RawMessage `json:"manifests"`
		Config    json.RawMessage `json:"config"`
		Layers    json.RawMessage `json:"layers"`
		Blobs     json.RawMessage `json:"blobs"`
		FSLayers  json.RawMessage `json:"fsLayers"`
	}
	if !strings.HasPrefix(strings.TrimLeft(string(data[:min(len(data), 64)]), " \t\r\n"), "{") {
		return leafNode
	}
	if json.Unmarshal(data, &doc) != nil {
		return leafNode
	}
	if k := kindOfType(doc.MediaType); k != leafNode {
		return k
	}
	switch {
	case doc.Manifests != nil:
		return indexNode
	case doc.Config != nil || doc.Layers != nil || doc.Blobs != nil || doc.FSLayers != nil:
		return manifestNode
	}
	return leafNode
}
