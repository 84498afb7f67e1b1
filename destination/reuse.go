package destination

import (
	"context"
	"errors"

	"github.com/ocilayout/ocilayout/internal/linkcache"
	"github.com/ocilayout/ocilayout/layout"
	"github.com/sirupsen/logrus"
	"go.podman.io/image/v5/types"
)

// linkFromCache is the zero-copy half of TryReusingBlob: it asks the blob
// info cache copy.Image passes in for other layouts on this file system
// that hold info.Digest (sources record themselves there when opened; see
// internal/linkcache for why the cache is the channel) and links the blob
// from the first that works.
//
// A candidate whose linked content fails the digest check (verified mode,
// the default) is not an error: the candidate may be a stale entry of a
// layout that changed since, so the corrupt link is dropped and the next
// candidate, or in the end streaming from the real source, is tried. If the
// real source is the corrupt one, copy.Image's own digest check of the
// stream then fails the copy, naming the blob.
func (d *imageDestination) linkFromCache(ctx context.Context, info types.BlobInfo, cache types.BlobInfoCache) (bool, int64, error) {
	if cache == nil || info.Size >= 0 && info.Size < linkcache.MinLinkSize {
		return false, 0, nil
	}
	self, dev, err := d.layout.BlobLocation()
	if err != nil {
		return false, 0, nil
	}
	for _, from := range linkcache.Candidates(cache, dev, info.Digest, self) {
		method, err := d.layout.LinkBlob(ctx, from, info.Digest, info.Size, d.opts.Link()...)
		var integrity *layout.IntegrityError
		if errors.As(err, &integrity) {
			logrus.Warnf("Not reusing %s: %v", from, err)
			continue
		}
		if err != nil {
			return false, 0, err
		}
		if method == "" {
			continue
		}
		logrus.Debugf("Linked blob %s from %s (%s)", info.Digest, from, method)
		size, err := d.statBlob(ctx, info.Digest)
		if err != nil {
			return false, 0, err
		}
		return true, size, nil
	}
	return false, 0, nil
}
