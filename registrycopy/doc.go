// Package registrycopy copies an image between a registry (docker://) and
// an OCI image layout (oci-layout:) without copy.Image, when nothing but
// moving bytes is asked for. It exists for speed: copy.Image reads every
// pushed byte through its digest check in 32 KiB pieces, where oras and
// crane hand a layer's file to the socket with sendfile(2). The direct
// route pushes each layer from its *os.File (net/http then uses sendfile
// on plain HTTP: the client's CPU for a 256 MiB push falls from about
// 0.45 s to 0.06 s), checks which blobs the registry already holds with
// one HEAD each, mounts from other repositories the blob info cache
// knows, and pulls blobs straight into the layout's engine with one hash
// per byte, without copy.Image's per-copy machinery.
//
// It applies only where its result is digest for digest the one
// copy.Image would give, and is refused (ErrNotApplicable, before anything
// is written) otherwise: a conversion or compression asked for (manifest
// type, --dest-compress*, encryption, signing, instance selection), a
// manifest copy.Image would convert or choose from (a Docker schema 2
// manifest into a layout, an index or manifest list), a layer it would
// compress (an uncompressed or zstd layer pushed to a registry), foreign
// or encrypted layers, a progress channel, or an image with signatures to
// carry; and, at the last step of a push, a registry that refuses the OCI
// manifest (copy.Image then converts it; the blobs pushed stay for it to
// find). The caller then copies with copy.Image. The signature policy is
// enforced through the caller's PolicyContext, on the same ImageSource
// copy.Image would open, before any blob is read; a policy that checks
// signatures checks them there.
//
// Durability is the engine's: into a layout, blobs, the manifest and the
// index entry are written through the same ImageDestination copy.Image
// drives (layout.PutBlob: temp file, fsync, rename, fsync of the
// directory; Layout.Update for index.json; a write lease from the first
// blob to the commit). Out of a layout, a layer is not hashed on its way
// to the socket: its size is checked against the manifest, and the
// registry recomputes the digest of every upload and refuses a mismatch
// (the distribution spec requires it), so a layer that rotted in the
// layout fails the push before the manifest, the last request, names it.
package registrycopy
