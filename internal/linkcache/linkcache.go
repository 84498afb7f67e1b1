// Package linkcache is how an oci-layout destination finds, on its own
// file system, a layout that holds a blob it is about to receive, so that
// it can link the blob instead of streaming it.
//
// copy.Image calls the destination's TryReusingBlob before it reads a blob
// from the source, and tells it nothing about the source. So a source,
// when copy.Image asks it for the layers it is about to copy
// (LayerInfosForCopy, which only a copy calls: inspect and other readers
// record nothing), records here which large blobs its blob directory
// holds; the destination asks for candidates on its own device and links
// one with layout.Layout.LinkBlob, verifying it unless told to trust.
//
// Why a table in this process, when package-level state is otherwise kept
// to the transport registration: copy.Image opens a source and its
// destination in one process, so nothing needs to outlive it, and the
// alternative channel, containers/image's blob info cache, is a SQLite
// file shared by every process of the user whose writes are fsync'd (what
// an earlier version used: about 17 ms and a write into
// /var/lib/containers/cache per first copy of a layout, and a read of it
// on every copy). A location is offered exactly while the source that
// recorded it is open: Release at the source's Close withdraws it, so
// there are no stale entries and the table is bounded by the open sources.
package linkcache

import (
	"slices"
	"sync"

	"github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/types"
)

// MinLinkSize is the smallest blob whose location is recorded: below it,
// streaming the bytes is cheaper than a link and its verification.
const MinLinkSize = 64 << 10

type key struct {
	dev uint64
	d   digest.Digest
}

var (
	mu    sync.Mutex
	table = map[key][]*Registration{} // in recording order; guarded by mu
)

// Registration is what one Record offered; Release withdraws it.
type Registration struct {
	dir  string
	keys []key
}

// Record offers dir, a blob directory on device dev, as a location of each
// blob in blobs of at least MinLinkSize bytes, until Release.
func Record(dir string, dev uint64, blobs []types.BlobInfo) *Registration {
	r := &Registration{dir: dir}
	mu.Lock()
	defer mu.Unlock()
	for _, b := range blobs {
		if b.Size < MinLinkSize || b.Digest == "" {
			continue
		}
		k := key{dev, b.Digest}
		r.keys = append(r.keys, k)
		table[k] = append(table[k], r)
	}
	return r
}

// Release withdraws what Record offered. It is safe to call more than once.
func (r *Registration) Release() {
	mu.Lock()
	defer mu.Unlock()
	for _, k := range r.keys {
		rs := slices.DeleteFunc(table[k], func(x *Registration) bool { return x == r })
		if len(rs) == 0 {
			delete(table, k)
		} else {
			table[k] = rs
		}
	}
	r.keys = nil
}

// Candidates returns the blob directories on device dev, other than self,
// that open sources offer for d, most recent first.
func Candidates(dev uint64, d digest.Digest, self string) []string {
	mu.Lock()
	defer mu.Unlock()
	rs := table[key{dev, d}]
	var out []string
	for i := len(rs) - 1; i >= 0; i-- {
		if dir := rs[i].dir; dir != self && !slices.Contains(out, dir) {
			out = append(out, dir)
		}
	}
	return out
}
