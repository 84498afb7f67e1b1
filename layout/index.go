package layout

import (
	"bufio"
	"context"
	"fmt"
	"slices"
	"syscall"

	"github.com/ocilayout/ocilayout/layout/internal/atomicfile"
	"github.com/ocilayout/ocilayout/layout/internal/indexjson"
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// maxIndexSize bounds index.json. 64 MiB holds several hundred thousand
// entries; anything larger is treated as hostile rather than read, and
// never written (see indexlimit.go). A variable for the tests.
var maxIndexSize int64 = 64 << 20

// validDescriptor reports why d names no blob the engine can read: an
// invalid digest or a negative size.
func validDescriptor(d imgspecv1.Descriptor) error {
	if err := indexjson.ValidDigest(d.Digest); err != nil {
		return fmt.Errorf("invalid digest %q: %w", string(d.Digest), err)
	}
	if d.Size < 0 {
		return fmt.Errorf("descriptor %s has negative size %d", d.Digest, d.Size)
	}
	return nil
}

// writeIndex replaces index.json atomically and durably. Callers hold the
// index lock (or are initialising a layout nobody else can see yet).
func (l *Layout) writeIndex(idx *imgspecv1.Index) error {
	if idx.Manifests == nil {
		idx.Manifests = []imgspecv1.Descriptor{}
	}
	return l.writeIndexWith(func(w *bufio.Writer) error { return indexjson.Encode(w, idx) })
}

// writeIndexWith replaces index.json with what encode writes. Encoding
// straight into the temp file keeps a large index (100,000 tags are ~25
// MB) from being built up in a growing buffer first.
//
// The old index.json, when large, keeps a second name until it has been
// replaced (atomicfile.Keep), and is removed in the background: freeing a
// 21 MB file took 7 ms of the rename, under the lock, of a 50 ms tag add.
func (l *Layout) writeIndexWith(encode func(w *bufio.Writer) error) error {
	var size int64 // the current index.json's, 0 when there is none
	if fi, err := l.root.Stat(imgspecv1.ImageIndexFile); err == nil {
		size = fi.Size()
	}
	if size >= largeIndex {
		// Best effort: without the second name the rename frees the old
		// text itself, as it always did.
		if old, err := atomicfile.Keep(l.root, imgspecv1.ImageIndexFile); err == nil {
			defer l.removeLater(old)
		}
	}
	err := atomicfile.WriteFunc(l.root, imgspecv1.ImageIndexFile, func(w *bufio.Writer) error {
		lw := l.limitIndexWriter(w, size)
		if err := encode(lw); err != nil {
			return err
		}
		return lw.Flush()
	})
	if err != nil {
		return fmt.Errorf("writing index.json of %s: %w", l.dir, err)
	}
	return nil
}

// removeLater removes name, a temp file of ours, in the background; Close
// waits for it. gc may have removed it first, which is as good.
func (l *Layout) removeLater(name string) {
	l.pending.Add(1)
	go func() {
		defer l.pending.Done()
		_ = l.root.Remove(name)
	}()
}

// Update runs fn on index.json as one transaction: under the layout's
// exclusive lock it re-reads the file (so changes other processes made
// since this layout was opened are kept), lets fn change it through tx,
// brings the referrers fallback tag of every subject whose referrers
// changed up to date, once, and replaces the file atomically and durably.
// If fn returns an error nothing is written.
//
// Every writer of the module goes through here: copy's Commit, Attach,
// Delete, GC. fn runs with the lock held, so it should only change the
// index; blobs belong before Update (PutBlob, PutArtifact), under a
// Lease so that GC keeps them until the index names them.
//
// The entries are decoded only as far as fn needs them (see entryList):
// a transaction that tags a few images in a large index decodes none, and
// writes the others back as the text they were read as.
func (l *Layout) Update(ctx context.Context, fn func(tx *IndexTx) error) error {
	if err := l.checkWritable(); err != nil {
		return err
	}
	unlock, err := l.lock(ctx, indexLockFile, true)
	if err != nil {
		return err
	}
	defer unlock()
	scanned, idx, err := l.scanIndex(ctx)
	if err != nil {
		return err
	}
	tx := &IndexTx{l: l, ctx: ctx, idx: idx}
	if scanned != nil {
		tx.list = newEntryList(scanned)
		tx.before = tx.list.referrers()
	} else {
		tx.before = referrersOf(idx.Manifests)
	}
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.finish(); err != nil {
		return err
	}
	if tx.list != nil {
		err = l.writeIndexWith(tx.list.encode)
	} else {
		err = l.writeIndex(tx.idx)
	}
	if err == nil && len(tx.replaced) > 0 {
		l.supersededMu.Lock()
		l.superseded = append(l.superseded, tx.replaced...)
		l.supersededMu.Unlock()
	}
	return err
}

// IndexVersion identifies the version of index.json there is now, without
// reading it: writers replace the file by rename, so every write makes a
// new inode (and ctime), and a reader that remembers the version it parsed
// knows whether to parse again. Versions are compared with ==.
func (l *Layout) IndexVersion() (string, error) {
	fi, err := l.root.Stat(imgspecv1.ImageIndexFile)
	if err != nil {
		return "", fmt.Errorf("stat of index.json of %s: %w", l.dir, err)
	}
	v := fmt.Sprintf("%d %d", fi.Size(), fi.ModTime().UnixNano())
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		v += fmt.Sprintf(" %d %d %d.%d", st.Dev, st.Ino, st.Ctim.Sec, st.Ctim.Nsec)
	}
	return v, nil
}

// IndexTx is the index.json being changed inside Update. Its verbs are
// the only ways entries change, so the rules (a name is unique, an
// untagged leftover of a tag move goes with its referrers, a referrer
// names its subject) hold for every writer.
type IndexTx struct {
	l   *Layout
	ctx context.Context
	// Exactly one of list and idx is set: list while the transaction
	// needs no entry decoded (Tag works on it), idx once something does
	// (full decodes every entry into it).
	list     *entryList
	idx      *imgspecv1.Index
	subjects []digest.Digest        // whose fallback tag finish rewrites, in order
	before   referrerSets           // the referrers when the transaction began
	replaced []imgspecv1.Descriptor // fallback tag entries finish replaced or dropped
	tags     *tagIndex              // nil until the first Tag, and after other changes
}

// full returns the index with every entry decoded, decoding it the first
// time it is asked for.
func (tx *IndexTx) full() *imgspecv1.Index {
	if tx.list != nil {
		tx.idx = tx.list.index()
		tx.list = nil
	}
	return tx.idx
}

// Entries returns the entries as they stand in the transaction. The slice
// must not be changed; use the verbs.
func (tx *IndexTx) Entries() []imgspecv1.Descriptor {
	if tx.list != nil {
		return tx.list.view()
	}
	return tx.idx.Manifests
}

// Tag records desc in index.json under name ("" for untagged).
// A name is unique: the entry that held it before loses it, and is dropped
// when it is left with no name (together with the referrers whose subject
// it was, whichever tool wrote them, and theirs, unless the subject is still
// in the layout), because an untagged
// leftover of a tag move is what makes other layouts grow forever. An
// untagged write of a digest already present changes nothing. An image
// the walker cannot follow whole (an invalid descriptor, a document whose
// shape is broken) is refused: GC and Verify could not maintain it.
func (tx *IndexTx) Tag(desc imgspecv1.Descriptor, name string) error {
	if name != "" {
		if err := ValidateName(name); err != nil {
			return err
		}
	}
	if err := tx.l.checkMaintainable(tx.ctx, desc); err != nil {
		return err
	}
	if tx.list != nil {
		// A new name stays on the scanned text; a move that drops an
		// entry needs every entry to find who referred to it.
		gone := slices.DeleteFunc(tx.list.tag(desc, name), func(d imgspecv1.Descriptor) bool {
			return tx.list.hasDigest(string(d.Digest)) // still held under another name
		})
		if len(gone) > 0 {
			tx.full()
			tx.dropOrphansOf(gone)
		}
		return nil
	}
	tx.tag(desc, name)
	return nil
}

// Remove drops the top-level entries for which drop is true, and the
// referrers left without a subject by that (with their fallback tag), and
// returns how many entries matched.
func (tx *IndexTx) Remove(drop func(imgspecv1.Descriptor) bool) int {
	idx := tx.full()
	tx.tags = nil
	var gone []imgspecv1.Descriptor
	kept := idx.Manifests[:0]
	n := 0
	for _, e := range idx.Manifests {
		if drop(e) {
			n++
			gone = append(gone, e)
			continue
		}
		kept = append(kept, e)
	}
	idx.Manifests = kept
	tx.dropOrphansOf(gone)
	return n
}

// remove drops the entries at the positions in drop and returns them.
func (tx *IndexTx) remove(drop map[int]bool) []imgspecv1.Descriptor {
	idx := tx.full()
	tx.tags = nil
	var removed []imgspecv1.Descriptor
	idx.Manifests, removed = removeEntries(idx.Manifests, drop)
	return removed
}

// applyTag gives desc the name in idx and returns the digests of the
// entries it dropped (whose referrers the caller drops).
func applyTag(idx *imgspecv1.Index, desc imgspecv1.Descriptor, name string) []imgspecv1.Descriptor {
	desc.Annotations = cloneMap(desc.Annotations)
	if name == "" {
		delete(desc.Annotations, imgspecv1.AnnotationRefName)
		for _, e := range idx.Manifests {
			if e.Digest == desc.Digest {
				return nil
			}
		}
		idx.Manifests = append(idx.Manifests, desc)
		return nil
	}
	if desc.Annotations == nil {
		desc.Annotations = map[string]string{}
	}
	desc.Annotations[imgspecv1.AnnotationRefName] = name

	var dropped []imgspecv1.Descriptor
	placed := false
	kept := idx.Manifests[:0]
	for _, e := range idx.Manifests {
		switch {
		case e.Annotations[imgspecv1.AnnotationRefName] == name || (e.Digest == desc.Digest && entryName(e) == ""):
			if placed {
				if e.Digest != desc.Digest {
					dropped = append(dropped, e)
				}
				continue
			}
			// The first entry holding the name (or an untagged entry of
			// this digest) is replaced in place, so positions (@N) of
			// the others do not shift.
			if e.Digest != desc.Digest {
				dropped = append(dropped, e)
			}
			kept = append(kept, desc)
			placed = true
		default:
			kept = append(kept, e)
		}
	}
	if !placed {
		kept = append(kept, desc)
	}
	idx.Manifests = kept
	return dropped
}

// AnnotationSubject marks an index.json entry that is a referrer (a
// signature, SBOM or other artifact) with the digest of the manifest it
// refers to, so that index-level operations (tag moves, delete, gc,
// Referrers) find an image's referrers without reading every manifest.
const AnnotationSubject = indexjson.AnnotationSubject

// AnnotationSubjectRoot marks a referrer entry whose subject is an
// instance inside an index (copy --all) with the digest of the top-level
// index.json entry it was committed with. Instances have no index.json
// entry of their own, so without it a tag move that drops the index would
// leave its instances' signatures listed forever; with it they go with the
// index, as a top-level image's referrers go with the image.
const AnnotationSubjectRoot = indexjson.AnnotationSubjectRoot

func entryName(d imgspecv1.Descriptor) string { return d.Annotations[imgspecv1.AnnotationRefName] }

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
