// Package layout is the on-disk engine of ocilayout: an OCI image layout
// (https://github.com/opencontainers/image-spec/blob/main/image-layout.md)
// opened through an os.Root so that nothing outside the layout directory is
// ever read or written, a blob store whose writes are atomic and durable, and
// index.json changes made as transactions serialised across processes with
// flock(2).
//
// It knows nothing of containers/image: the source and destination packages
// adapt it to copy.Image. Every exported operation that does I/O takes a
// context first.
//
// Where things are:
//
//	layout.go      Open, Create, options; the files ocilayout adds
//	index.go       reading index.json; Update and IndexTx, the one way it changes
//	indexentries.go  every entry's type, digest, size, name and asked annotations, scanned (IndexEntries)
//	image.go       an image and its referrers from one read of index.json (LookupImage)
//	referrers.go   artifacts that refer to a manifest: Attach, Referrers, fallback tags
//	orphans.go     which entries are referrers (any tool's), and when they leave
//	selector.go    the NAME | @N | @DIGEST grammar
//	resolve.go     a Selector to a descriptor, digests at any depth
//	blob.go        reading, putting and linking blobs (over internal/blobstore)
//	lease.go       the index lock and the write lease that keeps gc off fresh blobs
//	walk.go        what is reachable: the one definition gc, delete and verify share
//	gc.go, delete.go, verify.go   maintenance
//
// and below it, in internal/: blobstore (the ALG/HEX files), indexjson (the
// index.json codec), atomicfile (temp, fsync, rename, fsync dir) and flock.
package layout
