package mirror

// Every direct call into the layout engine and the oci-layout transport is
// in this file, so that an engine redesign (renamed List/Delete/ByName, an
// index transaction for many tags) is adapted here and nowhere else.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"runtime"
	"strings"

	"github.com/ocilayout/ocilayout/internal/imageopts"
	"github.com/ocilayout/ocilayout/layout"
	"github.com/ocilayout/ocilayout/reference"
	"github.com/ocilayout/ocilayout/referrers"
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/types"
)

// engineOptions opens a layout as the oci-layout: transport does for sys:
// with its shared blob directory (--dest-shared-blob-dir), if any, so that
// a delete, a GC or a lease concerns the blobs the copies wrote.
func engineOptions(sys *types.SystemContext) []layout.Option { return imageopts.Layout(sys) }

// annotationSourceDigest, on an entry sync wrote, is the digest of the
// source manifest the entry's image was converted from (a Docker schema2
// manifest or list stored as OCI, which the layout holds under another
// digest): a re-sync compares the source's HEAD with it, so that an
// unchanged schema2 tag costs one HEAD, as any other. Another writer
// moving the name writes its own descriptor, without it.
const annotationSourceDigest = "io.github.ocilayout.sync.source-digest"

// layoutEntry is a named image entry of a layout; source is its
// annotationSourceDigest, if any.
type layoutEntry struct {
	name   string
	digest digest.Digest
	source string
}

// layoutNames reads the named image entries of the layout at dir, once per
// sync, and gives each to each: this is what makes an unchanged tag cost
// no request at all on the layout side. Referrer entries (signatures and
// their fallback tags) are left out: they travel with their subject, never
// as images of their own. A missing layout holds nothing (the first sync
// creates it): exists is false. The index is scanned, not decoded
// (layout.IndexEntries: at 100,000 names decoding it whole was most of a no-op
// re-sync's memory), and each keeps what it needs while the index's text
// is still live, which is the peak of a sync that copies nothing.
func layoutNames(ctx context.Context, dir string, each func(layoutEntry)) (exists bool, err error) {
	l, err := layout.Open(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	defer l.Close()
	// The strings IndexEntries gives are the index's text: each is copied
	// so that the text can go, and a digest that the entry before held too
	// (the names a sync gave one image) is copied once for the run.
	n := 0
	var last digest.Digest
	err = l.IndexEntries(ctx, func(d imgspecv1.Descriptor, name, subject string) {
		if name == "" || subject != "" {
			return
		}
		if d.Digest != last {
			last = digest.Digest(strings.Clone(string(d.Digest)))
		}
		each(layoutEntry{name: strings.Clone(name), digest: last, source: strings.Clone(d.Annotations[annotationSourceDigest])})
		n++
	}, annotationSourceDigest)
	if err != nil {
		return true, err
	}
	if n >= largeLayout {
		// The index's text (20 to 30 MB at 100,000 names) is garbage now,
		// but the collector would only notice once the heap had doubled
		// from when it was live, and the plan is about to grow: collecting
		// it first keeps a no-op re-sync's peak at the plan (as the engine
		// does before it reads a large index.json).
		runtime.GC()
	}
	return true, nil
}

// largeLayout is the number of names from which layoutNames collects the
// garbage of the index it read.
const largeLayout = 10000

// deleteName removes the entry name from the layout at dir through the
// engine's delete (index first, under the lock; then the blobs that
// nothing else reaches).
func deleteName(ctx context.Context, sys *types.SystemContext, dir, name string) error {
	if err := layout.ValidateName(name); err != nil {
		return fmt.Errorf("pruning %s from %s: %w", name, dir, err)
	}
	sel, err := layout.ParseSelector(name)
	if err != nil {
		return fmt.Errorf("pruning %s from %s: %w", name, dir, err)
	}
	l, err := layout.Open(dir, engineOptions(sys)...)
	if err != nil {
		return fmt.Errorf("pruning %s from %s: %w", name, dir, err)
	}
	defer l.Close()
	if _, err := l.Delete(ctx, sel); err != nil {
		return fmt.Errorf("pruning %s from %s: %w", name, dir, err)
	}
	return nil
}

// validName reports whether name can be an entry name of a layout.
func validName(name string) error { return layout.ValidateName(name) }

// layoutSourceRef is the oci-layout: reference of entry name in dir, tuned
// for copy.Image as "ocilayout copy" does: copy.Image hashes every blob it
// streams, so the source does not hash them a second time.
func layoutSourceRef(dir, name string) (types.ImageReference, error) {
	ref, err := reference.NewReference(dir, name)
	if err != nil {
		return nil, err
	}
	return reference.With(ref, reference.WithoutSecondHash()), nil
}

// layoutDestRef is the oci-layout: reference that tags name in dir. Each
// copy.Image through it commits its one tag under the engine's index lock,
// which is what makes Parallel copies into one layout safe.
//
// Seam for batch commits: when the engine offers one index transaction for
// many tags, this is where a destination that defers its index change to
// the batch would be returned, and run.go's worker pool would commit the
// batch every few hundred images.
func layoutDestRef(dir, name string) (types.ImageReference, error) {
	ref, err := reference.NewReference(dir, name)
	if err != nil {
		return nil, err
	}
	return reference.With(ref, reference.WithoutSecondHash()), nil
}

// collect reclaims the blobs no entry of the layout at dir reaches any
// more (the layers of tags the sync moved) with the engine's GC, which is
// safe beside other writers. It returns how many blobs and bytes it freed.
func collect(ctx context.Context, sys *types.SystemContext, dir string) (int, int64, error) {
	l, err := layout.Open(dir, engineOptions(sys)...)
	if err != nil {
		return 0, 0, err
	}
	defer l.Close()
	res, err := l.GC(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("reclaiming the blobs of moved tags in %s: %w", dir, err)
	}
	return len(res.Blobs), res.Bytes, nil
}

// errNotHeld is tagExisting's answer when no entry holds the digest (any
// more): the caller copies instead.
var errNotHeld = errors.New("no entry of the layout holds this digest")

// tagExisting names, in the layout at dir, the manifest d that another
// entry already holds, with no copy at all: one index transaction that
// finds the entry holding d and adds name with the same descriptor
// (media type, size, platform). The lookup and the write are one locked
// read-modify-write, and the write lease keeps GC out meanwhile, so the
// new name never points at blobs being reclaimed. wantIndex false refuses
// an entry that is an index (a copy without --all would have stored one
// platform's image, not the list).
func tagExisting(ctx context.Context, sys *types.SystemContext, dir string, d digest.Digest, name string, wantIndex bool) error {
	l, err := layout.Open(dir, engineOptions(sys)...)
	if err != nil {
		return err
	}
	defer l.Close()
	lease, err := l.AcquireWriteLease(ctx)
	if err != nil {
		return err
	}
	defer lease.Release()
	return l.Update(ctx, func(tx *layout.IndexTx) error { return tagIn(tx, d, name, wantIndex) })
}

// tagIn is tagExisting inside an index transaction. The entry holding d
// is found without decoding the others (IndexTx.Holder).
func tagIn(tx *layout.IndexTx, d digest.Digest, name string, wantIndex bool) error {
	e, ok := tx.Holder(d)
	if !ok {
		return errNotHeld
	}
	if isIndex := e.MediaType == imgspecv1.MediaTypeImageIndex || e.MediaType == manifest.DockerV2ListMediaType; isIndex && !wantIndex {
		return errNotHeld
	}
	return tx.Tag(heldDescriptor(e), name)
}

// batch is the index transaction that many copies into one layout share
// (reference.Batch): a first sync of thousands of tags rewrites index.json
// once per batchSize images instead of once per image.
type batch = reference.Batch

func newBatch(ctx context.Context, sys *types.SystemContext, dir string) (*batch, error) {
	return reference.NewBatch(ctx, dir, sys)
}

// batched is dest, committing into b.
func batched(dest types.ImageReference, b *batch) types.ImageReference {
	return reference.With(dest, reference.WithBatch(b))
}

// deferTag queues, in b, naming d as name; notHeld runs (inside the
// transaction) when no entry holds d, and the caller copies instead.
// IndexTx.Holder finds the entry holding d without decoding the index's
// entries, once a name: at 100,000 names in batches of 256, decoding them
// for each batch was half a first sync's time.
func deferTag(b *batch, d digest.Digest, name string, notHeld func()) {
	b.Defer(func(tx *layout.IndexTx) error {
		e, ok := tx.Holder(d)
		if !ok {
			notHeld()
			return nil
		}
		return tx.Tag(heldDescriptor(e), name)
	})
}

// heldDescriptor is what naming the image of entry e again records: its
// media type, digest, size and platform, and the source it was converted
// from.
func heldDescriptor(e imgspecv1.Descriptor) imgspecv1.Descriptor {
	desc := imgspecv1.Descriptor{MediaType: e.MediaType, Digest: e.Digest, Size: e.Size, Platform: e.Platform}
	if src := e.Annotations[annotationSourceDigest]; src != "" {
		desc.Annotations = map[string]string{annotationSourceDigest: src}
	}
	return desc
}

// sourceChange gives the entry name, if it holds d, the annotation that
// it was converted from the source manifest source (a sourceKey). Nothing happens when
// another writer moved the name meanwhile.
func sourceChange(name string, d digest.Digest, source string) func(*layout.IndexTx) error {
	return func(tx *layout.IndexTx) error {
		for _, e := range tx.Entries() {
			if e.Annotations[imgspecv1.AnnotationRefName] != name || e.Digest != d || e.Annotations[layout.AnnotationSubject] != "" {
				continue
			}
			if e.Annotations[annotationSourceDigest] == source {
				return nil
			}
			desc := e
			desc.Annotations = maps.Clone(e.Annotations)
			desc.Annotations[annotationSourceDigest] = source
			return tx.Tag(desc, name)
		}
		return nil
	}
}

// recordSource records, on the entry name of the layout at dir that holds
// d, that it was converted from source: in b when the copy committed into
// the batch b (the change follows the copy's own), otherwise in an index
// transaction of its own.
func recordSource(ctx context.Context, sys *types.SystemContext, dir, name string, d digest.Digest, source string, b *batch) error {
	change := sourceChange(name, d, source)
	if b != nil {
		b.Defer(change)
		return nil
	}
	l, err := layout.Open(dir, engineOptions(sys)...)
	if err != nil {
		return err
	}
	defer l.Close()
	if err := l.Update(ctx, change); err != nil {
		return fmt.Errorf("recording the source digest of %s in %s: %w", name, dir, err)
	}
	return nil
}

// layoutEndpoint is the layout at dir as an end of referrers.Copy,
// created when it is the destination; the func closes it.
func layoutEndpoint(dir string, sys *types.SystemContext, create bool) (*referrers.Endpoint, func(), error) {
	open := layout.Open
	if create {
		open = layout.Create
	}
	l, err := open(dir, engineOptions(sys)...)
	if err != nil {
		return nil, nil, err
	}
	return referrers.Layout(l, "oci-layout:"+dir), func() { _ = l.Close() }, nil
}
