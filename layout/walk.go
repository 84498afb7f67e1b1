package layout

import (
	"context"
	_ "crypto/sha256" // digest algorithms blobs may use
	_ "crypto/sha512"
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/ocilayout/ocilayout/layout/internal/indexjson"
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// mediaTypeArtifactManifest is the artifact manifest of image-spec 1.1's
// release candidates; oras wrote it into layouts, so the walker still follows
// its blobs.
const mediaTypeArtifactManifest = "application/vnd.oci.artifact.manifest.v1+json"

// reachInfo is what the walker keeps of the descriptors that name one
// blob: each distinct size they give, with where it was first seen, and
// whether any of them is local (has no URLs). It is not every descriptor:
// memory then grows with the distinct blobs of a layout, not with its
// descriptors (a manifest listing one layer 27,000 times costs one entry).
type reachInfo struct {
	sizes []sizeRef
	local bool
}

// sizeRef is a size descriptors give a blob and where the first of them
// was found: a manifest or index ("manifest sha256:…"), or "index.json".
type sizeRef struct {
	size   int64 // -1: unknown (a schema1 layer)
	parent string
}

// parent is where the blob was first found.
func (ri *reachInfo) parent() string { return ri.sizes[0].parent }

func (ri *reachInfo) add(d imgspecv1.Descriptor, parent string) {
	if len(d.URLs) == 0 {
		ri.local = true
	}
	for _, s := range ri.sizes {
		if s.size == d.Size {
			return
		}
	}
	ri.sizes = append(ri.sizes, sizeRef{d.Size, parent})
}

// walkProblem is something the walker could not follow: a manifest or index
// that is missing, corrupt or unparseable. Its children are unknown.
type walkProblem struct {
	digest digest.Digest
	parent string
	err    error
	// skipped is true for a descriptor that names no blob any reader can
	// read (an invalid digest: nothing is known to lie below it), and for
	// a document whose shape is broken (the walker then keeps every blob
	// it names): GC works around it, naming it, instead of refusing the
	// whole layout, and IndexTx.Tag refuses to record it.
	skipped bool
}

// reachable is the result of a walk: every blob reachable from the roots,
// with what the descriptors naming it say, and the nodes whose content
// was read and verified while walking (manifests and indexes).
type reachable struct {
	refs     map[digest.Digest]*reachInfo
	verified map[digest.Digest]bool
	problems []walkProblem
}

func (r *reachable) has(d digest.Digest) bool { _, ok := r.refs[d]; return ok }

// fatal returns the first problem below which something may be lost (a
// node that cannot be read), or nil when every problem was skipped.
func (r *reachable) fatal() *walkProblem {
	for i := range r.problems {
		if !r.problems[i].skipped {
			return &r.problems[i]
		}
	}
	return nil
}

// walk follows every descriptor from roots: indexes (OCI and Docker manifest
// lists) to their manifests, manifests (OCI, Docker schema2 and artifact
// manifests) to their config, layers and blobs. It is the one definition of
// "reachable" that GC, Delete and Verify share, so they can never disagree
// about what is garbage. A node that cannot be read is recorded as a problem
// and the walk goes on; callers decide whether that is fatal (GC: yes,
// because the children of an unreadable manifest are unknown).
func (l *Layout) walk(ctx context.Context, roots []imgspecv1.Descriptor) *reachable {
	r := &reachable{refs: map[digest.Digest]*reachInfo{}, verified: map[digest.Digest]bool{}}
	// Only manifests and indexes not yet expanded wait in the queue, each
	// once; leaves are recorded as they are met. So the walk holds the
	// distinct blobs and one document at a time, whatever the number of
	// descriptors.
	type item struct {
		desc   imgspecv1.Descriptor
		parent string
	}
	var queue []item
	queued := map[digest.Digest]bool{}
	// visit records d, found in parent; node is true where a manifest or
	// index belongs (an entry of index.json or of an index), so that the
	// content decides when the mediaType does not (see classify).
	visit := func(d imgspecv1.Descriptor, parent string, node bool) {
		if err := validDescriptor(d); err != nil && (d.Size != -1 || indexjson.ValidDigest(d.Digest) != nil) { // -1: a schema1 layer
			r.problems = append(r.problems, walkProblem{d.Digest, parent, err, true})
			return
		}
		info := r.refs[d.Digest]
		if info == nil {
			info = &reachInfo{}
			r.refs[d.Digest] = info
		}
		info.add(d, parent)
		if queued[d.Digest] || (!node && !isWalkable(d.MediaType)) {
			return
		}
		queued[d.Digest] = true
		queue = append(queue, item{d, parent})
	}
	for _, d := range roots {
		visit(d, imgspecv1.ImageIndexFile, true)
	}
	for len(queue) > 0 {
		it := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		d := it.desc
		if err := checkContext(ctx); err != nil {
			r.problems = append(r.problems, walkProblem{d.Digest, it.parent, err, false})
			return r
		}
		kind, data, err := l.classify(ctx, d)
		if err != nil {
			r.problems = append(r.problems, walkProblem{d.Digest, it.parent, err, false})
			continue
		}
		if kind == leafNode {
			continue
		}
		children, malformed, err := l.children(ctx, d, kind, data)
		if err != nil {
			r.problems = append(r.problems, walkProblem{d.Digest, it.parent, err, false})
			continue
		}
		if malformed != nil {
			r.problems = append(r.problems, walkProblem{d.Digest, it.parent, malformed, true})
		}
		r.verified[d.Digest] = true
		what := kind.String() + " " + d.Digest.String()
		for _, c := range children {
			visit(c, what, kind == indexNode)
		}
	}
	return r
}

// checkMaintainable refuses an image to be recorded in index.json that
// the walker cannot follow whole: what it cannot follow, GC cannot keep
// exactly, so it would be worked around (named) on every GC and reported
// by every Verify. Blobs that are absent are not refused here (a copy of
// an index without its instances records one on purpose); what is there
// must be well-formed.
func (l *Layout) checkMaintainable(ctx context.Context, desc imgspecv1.Descriptor) error {
	for _, p := range l.walk(ctx, []imgspecv1.Descriptor{desc}).problems {
		if p.skipped {
			return fmt.Errorf("refusing to record %s in %s: %s cannot be followed (%s): %w", desc.Digest, l.dir, describeDigest(p.digest), p.parent, p.err)
		}
	}
	return nil
}

func describeDigest(d digest.Digest) string {
	if d == "" {
		return "a descriptor without digest"
	}
	return fmt.Sprintf("%q", string(d))
}

// isWalkable reports whether blobs of media type t refer to other blobs.
func isWalkable(t string) bool {
	return isImageMediaType(t) || t == mediaTypeArtifactManifest
}

// children reads (verifying digest and size) the manifest or index d,
// unless data already holds it, and returns the descriptors it holds. One
// generic shape covers every format walked: an index has manifests, an
// image manifest config and layers, an artifact manifest blobs, a Docker
// schema1 manifest fsLayers (whose size is unknown: -1). subject is
// deliberately not followed: a referrer keeps its own blobs alive, not the
// image it refers to.
//
// malformed reports a document whose shape is broken; its children are
// then every digest it names, which keeps whatever any reader could
// follow. err is for a node that cannot be read at all.
func (l *Layout) children(ctx context.Context, d imgspecv1.Descriptor, kind nodeKind, data []byte) (out []imgspecv1.Descriptor, malformed, err error) {
	if data == nil {
		if data, err = l.ReadBlob(ctx, d.Digest, d.Size); err != nil {
			return nil, nil, err
		}
	}
	var doc struct {
		Config    *imgspecv1.Descriptor  `json:"config"`
		Layers    []imgspecv1.Descriptor `json:"layers"`
		Manifests []imgspecv1.Descriptor `json:"manifests"`
		Blobs     []imgspecv1.Descriptor `json:"blobs"`
		FSLayers  []struct {
			BlobSum digest.Digest `json:"blobSum"`
		} `json:"fsLayers"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		// Its shape is broken, so which descriptors a reader would follow
		// is unknown: keep every blob it names anywhere.
		out = []imgspecv1.Descriptor{}
		for _, m := range digestInText.FindAll(data, -1) {
			out = append(out, imgspecv1.Descriptor{Digest: digest.Digest(m), Size: -1})
		}
		return out, fmt.Errorf("parsing %s %s in %s: %w (kept every blob it names)", kind, d.Digest, l.dir, err), nil
	}
	if doc.Config != nil {
		out = append(out, *doc.Config)
	}
	out = append(out, doc.Manifests...)
	out = append(out, doc.Layers...)
	out = append(out, doc.Blobs...)
	// Invalid descriptors are returned too: the walker skips each, naming
	// it, and keeps the others (see validDescriptor).
	for _, f := range doc.FSLayers {
		out = append(out, imgspecv1.Descriptor{Digest: f.BlobSum, Size: -1})
	}
	return out, nil, nil
}

// digestInText finds the digests a document names, for one whose shape
// cannot be parsed.
var digestInText = regexp.MustCompile(`sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128}`)

// removeEntries returns entries without the positions in drop.
func removeEntries(entries []imgspecv1.Descriptor, drop map[int]bool) (kept, removed []imgspecv1.Descriptor) {
	kept = make([]imgspecv1.Descriptor, 0, max(0, len(entries)-len(drop)))
	for i, e := range entries {
		if drop[i] {
			removed = append(removed, e)
		} else {
			kept = append(kept, e)
		}
	}
	return kept, removed
}
