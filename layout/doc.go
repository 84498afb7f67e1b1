// Package layout is the on-disk engine of ocilayout: an OCI image layout
// (https://github.com/opencontainers/image-spec/blob/main/image-layout.md)
// opened through an os.Root so that nothing outside the layout directory is
// ever read or written, a blob store whose writes are atomic and durable, and
// index.json updates that are serialised across processes with flock(2).
//
// It knows nothing of containers/image: the source and destination packages
// adapt it to copy.Image. Every exported operation that does I/O takes a
// context first.
package layout
