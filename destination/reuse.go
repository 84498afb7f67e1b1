package destination

import (
	"context"
	"errors"
	"io"

	"github.com/ocilayout/ocilayout/internal/linkcache"
	"github.com/ocilayout/ocilayout/layout"
	"github.com/opencontainers/go-digest"
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

// intactForReuse reports whether blob dg, already in the layout, may be
// reused by a new image: its content hashes to dg. A blob that rotted on
// disk (right size, wrong bytes) would otherwise be reused on its size
// alone, so that the new tag names a corrupt blob and nothing ever repairs
// it; reported as not reusable instead, it is streamed again, and PutBlob
// replaces the rotten file with the verified content. Hashing costs one
// read of what the copy would otherwise skip; WithTrustedLinks, which
// trusts blobs on disk as much as their metadata, skips it.
func (d *imageDestination) intactForReuse(ctx context.Context, dg digest.Digest, size int64) (bool, error) {
	if d.opts.TrustLinks {
		return true, nil
	}
	r, _, err := d.layout.BlobReader(ctx, dg, size)
	if err != nil {
		return false, err
	}
	defer r.Close()
	_, err = io.Copy(io.Discard, r)
	var integrity *layout.IntegrityError
	if errors.As(err, &integrity) {
		logrus.Warnf("Not reusing blob %s: %v; fetching it again", dg, err)
		return false, nil
	}
	return err == nil, err
}
