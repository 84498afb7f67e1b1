// Package linkcache is how an oci-layout destination finds, on its own
// file system, another layout that holds a blob it is about to receive, so
// it can link the blob instead of streaming it: sources record where their
// blobs are in containers/image's blob info cache, destinations ask it.
package linkcache

import (
	"strconv"

	"github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/pkg/blobinfocache"
	"go.podman.io/image/v5/types"
)

// copy.Image calls the destination's TryReusingBlob before it reads a blob
// from the source, and passes it nothing about the source but a
// BlobInfoCache: the one from blobinfocache.DefaultCache(DestinationCtx),
// a SQLite file shared by every process of the user. So the source, when
// copy.Image asks it for its layers (LayerInfosForCopy, which only a copy
// calls: inspect and other readers record nothing), records there where each of its large blobs lives: transport
// LocationCacheTransport, scope "dev:<device of the blob directory>", location the
// absolute blob directory. The destination asks CandidateLocations under
// the scope of its own device, so it only ever sees blobs on its own file
// system, and links one with layout.Layout.LinkBlob.
//
// Why this and not something in memory: the only alternative channel
// between a source and a destination that copy.Image opened separately is
// package-level state, which this project keeps to the transport
// registration. The cost is one fsync'd SQLite transaction per recorded
// blob the first time a layout is copied from (small blobs are not
// recorded: streaming them costs less; later opens only read the cache to
// find the entries there), and entries outlive the process; a stale entry
// is harmless, because the destination checks type, size and device, and by default the
// digest, before it keeps a linked blob, and streams it otherwise. The
// source records under SourceCtx's cache; a tool that gives SourceCtx and
// DestinationCtx different BlobInfoCacheDir values gets no linking.
//
// Entries are keyed by the name "oci-layout" whatever name the transport
// was registered under, so that oci: (after transport.ReplaceOCI) and
// oci-layout: layouts link to each other; the built-in oci: transport keys
// its own entries by its own name and never sees these.

// transportName is the transport name under which blob locations are
// recorded in the BlobInfoCache.
const transportName = "oci-layout"

// MinLinkSize is the smallest blob whose location is recorded: below it,
// streaming the bytes is cheaper than the cache write and the link.
const MinLinkSize = 64 << 10

// cacheTransport names our entries in a BlobInfoCache, which only calls
// Name() on the transport it is given.
type cacheTransport struct{ types.ImageTransport }

func (cacheTransport) Name() string { return transportName }

// scope is the BlobInfoCache scope for blobs on device dev.
func scope(dev uint64) types.BICTransportScope {
	return types.BICTransportScope{Opaque: "dev:" + strconv.FormatUint(dev, 10)}
}

// Record records dir (a blob directory on device dev) as a location of
// each blob in blobs of at least MinLinkSize bytes, in the default blob
// info cache of sys, unless the cache already offers it. Failures only
// cost the optimisation, so there are none to return.
func Record(sys *types.SystemContext, dir string, dev uint64, blobs []types.BlobInfo) {
	var todo []types.BlobInfo
	for _, b := range blobs {
		if b.Size >= MinLinkSize {
			todo = append(todo, b)
		}
	}
	if len(todo) == 0 {
		return
	}
	cache := blobinfocache.DefaultCache(sys)
	if c, ok := cache.(interface {
		Open()
		Close()
	}); ok {
		c.Open()
		defer c.Close()
	}
	for _, b := range todo {
		if known(cache, dev, b.Digest, dir) {
			continue
		}
		cache.RecordKnownLocation(cacheTransport{}, scope(dev), b.Digest, types.BICLocationReference{Opaque: dir})
	}
}

// Candidates returns the blob directories on device dev, other than self,
// that cache says hold d, best first.
func Candidates(cache types.BlobInfoCache, dev uint64, d digest.Digest, self string) []string {
	var out []string
	for _, c := range cache.CandidateLocations(cacheTransport{}, scope(dev), d, false) {
		if c.Digest == d && c.Location.Opaque != self {
			out = append(out, c.Location.Opaque)
		}
	}
	return out
}

// known reports whether the cache already offers dir as a location of d.
// Recording costs an fsync'd write; asking is a read. So a layout that is
// read again and again (a base-image store) pays the writes once, and a
// location that has dropped out of the few candidates the cache returns is
// recorded again, which moves it back to the front.
func known(cache types.BlobInfoCache, dev uint64, d digest.Digest, dir string) bool {
	for _, c := range cache.CandidateLocations(cacheTransport{}, scope(dev), d, false) {
		if c.Digest == d && c.Location.Opaque == dir {
			return true
		}
	}
	return false
}
