package destination

import (
	"context"
	"errors"

	"github.com/ocilayout/ocilayout/internal/linkcache"
	"github.com/ocilayout/ocilayout/layout"
	"github.com/sirupsen/logrus"
	"go.podman.io/image/v5/types"
)

// linkFromOpenSources is the zero-copy half of TryReusingBlob: it asks
// internal/linkcache for layouts on this file system, open as sources in
// this process, that hold info.Digest, and links the blob from the first
// that works.
//
// A candidate whose linked content fails the digest check (verified mode,
// the default) is not an error: another source may hold a good copy, or
// the blob was changed in place since, so the corrupt link is dropped and the next
// candidate, or in the end streaming from the real source, is tried. If the
// real source is the corrupt one, copy.Image's own digest check of the
// stream then fails the copy, naming the blob.
func (d *imageDestination) linkFromOpenSources(ctx context.Context, info types.BlobInfo) (bool, int64, error) {
	if info.Size >= 0 && info.Size < linkcache.MinLinkSize {
		return false, 0, nil
	}
	self, dev, err := d.layout.BlobLocation()
	if err != nil {
		return false, 0, nil
	}
	for _, from := range linkcache.Candidates(dev, info.Digest, self) {
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
