package layout

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"strings"
	"syscall"

	"github.com/ocilayout/ocilayout/layout/internal/blobstore"
	"github.com/ocilayout/ocilayout/layout/internal/flock"
	"github.com/ocilayout/ocilayout/layout/internal/indexjson"
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// GCOption tunes GC.
type GCOption func(*gcOptions)

type gcOptions struct {
	dryRun  bool
	noLocks bool // a dry run where the lock files cannot be created or opened
}

// DryRun makes GC report what it would remove and remove nothing. It still
// waits for in-flight writers, so that its answer is what GC would do.
func DryRun() GCOption { return func(o *gcOptions) { o.dryRun = true } }

// RemovedFile is one blob or temp file GC removed (or would remove).
type RemovedFile struct {
	Digest digest.Digest `json:"digest,omitempty"`
	Path   string        `json:"path"` // relative to the layout, or to the shared blob directory
	Size   int64         `json:"size"`
}

// GCResult says what GC freed.
type GCResult struct {
	DryRun bool `json:"dryRun"`
	// Entries are index.json entries dropped: referrers whose subject is gone.
	Entries []imgspecv1.Descriptor `json:"entries"`
	// Blobs are unreachable blobs; TempFiles are stale temp files of
	// interrupted ocilayout writes.
	Blobs     []RemovedFile `json:"blobs"`
	TempFiles []RemovedFile `json:"tempFiles"`
	// Skipped are descriptors GC could not follow and worked around (an
	// invalid digest names no blob anyone can read); it keeps everything
	// else they are next to.
	Skipped []Problem `json:"skipped"`
	// SharedBlobDir is true when the layout keeps its blobs in a shared
	// directory, whose blobs GC never removes (see GC).
	SharedBlobDir bool `json:"sharedBlobDir"`
	// Files and Bytes total what Blobs and TempFiles hold.
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
}

// total fills in Files and Bytes.
func (r *GCResult) total() *GCResult {
	r.Files, r.Bytes = len(r.Blobs)+len(r.TempFiles), 0
	for _, f := range append(append([]RemovedFile(nil), r.Blobs...), r.TempFiles...) {
		r.Bytes += f.Size
	}
	return r
}

// Test hooks, set only by this package's crash tests (which kill the
// process from inside them to stop it at an exact point).
var (
	testHookBeforeRemove    func(n int) // before the n-th file removal (0-based)
	testHookDeleteCommitted func()      // after Delete wrote index.json, before reclaiming
)

// GC removes what nothing reaches: blobs that no index.json entry reaches
// (through nested indexes, manifests, configs, layers and artifact blobs),
// stale temp files (names starting with ".ocilayout-tmp-") of ocilayout
// writes that crashed, and referrer entries whose subject is gone. Tag
// moves leave no untagged entries behind (AddManifest drops them), so GC
// never removes an image entry: an untagged entry someone pushed on
// purpose looks the same as a leftover.
//
// Safety beside other processes: GC first takes the lease exclusively,
// which waits until no writer (any process holding a Lease, e.g. an open
// destination) is between its first blob and its commit and no reader
// (an open source) still reads an image it resolved; then it takes the
// index lock and reads index.json. So a blob that an in-flight writer has
// put or decided to reuse, or that a reader may still read, is never
// collected, and every temp file left in the layout is from a writer that
// is gone. Temp files of other tools are left alone: GC cannot know
// whether they are alive. While GC waits it closes the gate to new leases
// only for a while (see gcPatience), then lets queued writers in and tries
// again with more patience: one slow pull delays other writers by seconds,
// not by its whole length, and GC still gets its turn.
//
// Shared blob directories: a layout opened WithSharedBlobDir shares its
// blobs with other layouts GC cannot see, so GC removes no blob there, and
// leaves the shared directory's temp files alone (their writers hold the
// lease of another layout). It still drops orphaned referrer entries and
// the layout's own stale temp files. Collecting a shared blob directory is
// out of scope.
//
// Because flock conflicts between open files of one process too, a
// process must not call GC (or Delete) while it holds a Lease on the
// same layout, e.g. with a destination still open: it would wait for itself.
//
// GC fails, removing no blob, if a reachable manifest or index cannot be
// read: what it refers to is then unknown. Run Verify to see why. A
// descriptor that names no blob anyone can read (an invalid digest: an
// unknown algorithm, uppercase hex) is skipped instead and listed in
// Skipped: one such entry must not stop collection of the whole layout. A crash
// during GC leaves a sound layout with some garbage left; GC again finishes.
func (l *Layout) GC(ctx context.Context, opts ...GCOption) (*GCResult, error) {
	var o gcOptions
	for _, opt := range opts {
		opt(&o)
	}
	if !o.dryRun {
		if err := l.checkWritable(); err != nil {
			return nil, err
		}
	}
	release, err := l.acquireGCLease(ctx)
	if o.dryRun && errors.Is(err, flock.ErrLockFile) && isReadOnly(err) {
		// A dry run changes nothing, so on a layout we cannot write (a
		// read-only mount, another user's layout) it reports what gc
		// would remove now, without the locks it cannot take, and
		// without creating lock files.
		o.noLocks, release, err = true, func() {}, nil
	}
	if err != nil {
		return nil, err
	}
	defer release()
	return l.gcLocked(withRepairLimit(ctx), o, nil)
}

// gcLocked is GC once the exclusive lease is held. With candidates non-nil
// only those blobs may be removed (Delete reclaims what it unreferenced),
// and those the indexes of fallback tags this Layout's transactions
// replaced reach (Layout.superseded), which any run that is no dry run
// reclaims, so that no caller has to add them.
func (l *Layout) gcLocked(ctx context.Context, opts gcOptions, candidates map[digest.Digest]bool) (*GCResult, error) {
	unlock := func() {}
	if !opts.noLocks {
		var err error
		if unlock, err = l.lock(ctx, indexLockFile, true); err != nil {
			return nil, err
		}
	}
	defer unlock()
	// Under the index lock no transaction of this Layout adds to
	// superseded (Update records it before it unlocks).
	l.supersededMu.Lock()
	superseded := l.superseded
	l.supersededMu.Unlock()
	if candidates != nil {
		maps.Copy(candidates, l.reachedBy(ctx, superseded))
	}
	res := &GCResult{DryRun: opts.dryRun, SharedBlobDir: l.shared, Entries: []imgspecv1.Descriptor{}, Blobs: []RemovedFile{}, TempFiles: []RemovedFile{}, Skipped: []Problem{}}
	roots, plain, err := l.indexRoots(ctx)
	if err != nil {
		return nil, err
	}
	if !plain {
		if roots, err = l.removeOrphans(ctx, opts, res); err != nil {
			return nil, err
		}
	}
	reach := l.walk(ctx, roots)
	for _, p := range reach.problems {
		res.Skipped = append(res.Skipped, l.blobProblem(p.digest, p.err, "referenced by "+p.parent))
	}
	if p := reach.fatal(); p != nil {
		return nil, fmt.Errorf("not collecting garbage in %s: %s (referenced by %s) cannot be read, so what it refers to is unknown (run ocilayout verify): %w", l.dir, p.digest, p.parent, p.err)
	}
	removed := 0
	remove := func(root rootRemover, name string, f RemovedFile, list *[]RemovedFile) error {
		if !opts.dryRun {
			if testHookBeforeRemove != nil {
				testHookBeforeRemove(removed)
			}
			if err := root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("removing %s from %s: %w", f.Path, l.dir, err)
			}
			removed++
		}
		*list = append(*list, f)
		return nil
	}
	// The layout's own temp files: index.json and oci-layout writes, made
	// under the index lock we hold, so none is in flight.
	rootTemps, err := tempFiles(l.root.FS(), ".")
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", l.dir, err)
	}
	for _, t := range rootTemps {
		if err := remove(l.root, t.Path, t, &res.TempFiles); err != nil {
			return nil, err
		}
	}
	if l.shared || l.blobs.Root() == nil {
		return res.total(), nil
	}
	blobTemps, err := tempFiles(l.blobs.Root().FS(), ".")
	if err != nil {
		return nil, fmt.Errorf("listing blobs of %s: %w", l.dir, err)
	}
	for _, t := range blobTemps {
		name := t.Path
		t.Path = path.Join(imgspecv1.ImageBlobsDir, name)
		if err := remove(l.blobs.Root(), name, t, &res.TempFiles); err != nil {
			return nil, err
		}
	}
	blobs, err := l.listBlobs()
	if err != nil {
		return nil, err
	}
	for _, b := range blobs {
		if err := checkContext(ctx); err != nil {
			return res.total(), err
		}
		if reach.has(b.Digest) || (candidates != nil && !candidates[b.Digest]) {
			continue
		}
		p, _ := blobstore.Path(b.Digest)
		if err := remove(l.blobs.Root(), p, b, &res.Blobs); err != nil {
			return nil, err
		}
	}
	if !opts.dryRun {
		l.supersededMu.Lock()
		l.superseded = nil
		l.supersededMu.Unlock()
	}
	return res.total(), nil
}

// reachedBy is every blob the walk from descs reaches: what a gc
// restricted to the blobs some entries reached may remove. A part that
// cannot be read is simply not among them: a full gc gets it.
func (l *Layout) reachedBy(ctx context.Context, descs []imgspecv1.Descriptor) map[digest.Digest]bool {
	out := map[digest.Digest]bool{}
	if len(descs) > 0 {
		for d := range l.walk(ctx, descs).refs {
			out[d] = true
		}
	}
	return out
}

// reclaimReplaced removes the indexes of fallback tags this Layout's
// transactions replaced (gcLocked reclaims them) when the exclusive lease
// can be had at once: Close must not wait for another process's copy,
// and a reader holding a lease may still read an old index
// (Image.Referrers reads as of its lookup). Otherwise, or on any error, it
// leaves them to gc, as before. Not for a shared blob directory, whose
// blobs gc never removes either.
func (l *Layout) reclaimReplaced(ctx context.Context) {
	l.supersededMu.Lock()
	n := len(l.superseded)
	l.supersededMu.Unlock()
	if n == 0 || l.shared {
		return
	}
	release, err := l.tryGCLease(ctx)
	if err != nil {
		return
	}
	defer release()
	_, _ = l.gcLocked(ctx, gcOptions{}, map[digest.Digest]bool{})
}

// removeOrphans removes (or, in a dry run, lists in res) the referrers
// whose subject is gone, from index.json decoded whole, and returns the
// entries left: the roots of gc's walk. The caller holds the index lock.
func (l *Layout) removeOrphans(ctx context.Context, opts gcOptions, res *GCResult) ([]imgspecv1.Descriptor, error) {
	idx, err := l.Index(ctx)
	if err != nil {
		return nil, err
	}
	orphans, err := l.orphanReferrers(ctx, idx.Manifests)
	if err != nil {
		return nil, fmt.Errorf("collecting garbage in %s: %w", l.dir, err)
	}
	if len(orphans) > 0 {
		// The removal is a transaction under the lock held, like every
		// other: finish updates the fallback tags that named a removed
		// referrer (dry runs write nothing).
		tx := &IndexTx{l: l, ctx: ctx, idx: idx, before: referrersOf(idx.Manifests)}
		res.Entries = tx.remove(orphans)
		if !opts.dryRun {
			if err := tx.finish(); err != nil {
				return nil, err
			}
			if err := l.writeIndex(idx); err != nil {
				return nil, err
			}
		}
	}
	return idx.Manifests, nil
}

// isReadOnly reports whether err says the layout cannot be written by us.
func isReadOnly(err error) bool {
	return errors.Is(err, syscall.EROFS) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM)
}

type rootRemover interface{ Remove(string) error }

// tempFiles lists the files in dir whose names mark them as ocilayout temp files.
func tempFiles(fsys fs.FS, dir string) ([]RemovedFile, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []RemovedFile
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), tempPrefix) || e.IsDir() {
			continue
		}
		var size int64
		if fi, err := e.Info(); err == nil {
			size = fi.Size()
		}
		out = append(out, RemovedFile{Path: path.Join(dir, e.Name()), Size: size})
	}
	return out, nil
}

// listBlobs returns every file in the blob directory whose place
// (ALG/HEX, with a known algorithm and a well-formed HEX) makes it a blob.
// Anything else there is not ours to remove; Verify reports it.
func (l *Layout) listBlobs() ([]RemovedFile, error) {
	fsys := l.blobs.Root().FS()
	algs, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("listing blobs of %s: %w", l.dir, err)
	}
	var out []RemovedFile
	for _, a := range algs {
		alg := digest.Algorithm(a.Name())
		if !a.IsDir() || !alg.Available() {
			continue
		}
		files, err := fs.ReadDir(fsys, a.Name())
		if err != nil {
			return nil, fmt.Errorf("listing blobs of %s: %w", l.dir, err)
		}
		for _, f := range files {
			d := digest.NewDigestFromEncoded(alg, f.Name())
			if f.IsDir() || indexjson.ValidDigest(d) != nil {
				continue
			}
			var size int64
			if fi, err := f.Info(); err == nil {
				size = fi.Size()
			}
			p, _ := l.blobPath(d)
			out = append(out, RemovedFile{Digest: d, Path: p, Size: size})
		}
	}
	return out, nil
}
