// Package referrers finds and carries the OCI referrers of an image
// (SBOMs, attestations, signatures, and the signatures of those): in a
// layout whatever tool wrote them, and between layouts and registries.
//
// containers/image copies an image without its referrers, so a mirror made
// with skopeo loses them. Every tool records them its own way inside a
// layout, and List reads all of them:
//
//   - our entries: untagged index.json entries marked with
//     layout.AnnotationSubject (found from index.json alone);
//   - the referrers fallback tag "sha256-HEX" (regclient, oras, us);
//   - untagged entries oras-go and notation write, which carry no
//     annotation: their manifests are read, but only entries that can be
//     referrers (untagged image manifests whose entry has an artifactType),
//     never a tagged image;
//   - cosign's "sha256-HEX.sig", ".att" and ".sbom" tags.
//
// Copy carries the graph between Endpoints (a layout or a registry
// repository, the latter through oras-go, which speaks both the referrers
// API and the fallback tag scheme): every referrer, recursively, digest
// for digest, and cosign's tags as tags. Into a layout the referrers are
// recorded as our entries, so they leave with their subject on delete, tag
// move and gc.
package referrers
