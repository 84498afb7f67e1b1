// Package serve is an OCI distribution API v1.1 server over one OCI image
// layout: New returns an http.Handler that lets every registry client
// (containerd, CRI-O, podman, skopeo, crane, oras) pull from the layout,
// and, with WithPush, push to and delete from it.
//
// The layout is the only state. Requests read index.json through a
// snapshot that is rebuilt only when the file's identity changes (one
// stat per request), so other processes copying into the layout, deleting
// from it and collecting its garbage are seen at once, and a manifest HEAD
// on a layout of 100,000 names costs a stat and a small verified read.
// Writes go through the engine's atomic, locked operations and write
// lease, exactly as `ocilayout copy` writes, so they are safe beside it and
// beside gc.
//
// Content is verified before it is served: manifests on every read,
// blobs once per file identity (see verifiedBlobs in blobs.go), so a
// corrupt layout never answers a pull with wrong bytes as if they were
// right.
//
// Names: see Names for how index.json ref.name annotations map to
// repositories and tags. Entries without a name, and the manifests inside
// indexes, are served by digest in every repository.
package serve
