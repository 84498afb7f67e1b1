package layout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ocilayout/ocilayout/layout/internal/atomicfile"
	"github.com/ocilayout/ocilayout/layout/internal/blobstore"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Names of the files ocilayout adds to a layout. They start with a dot so
// that tools walking blobs/ or listing the layout (umoci, oras, crane) pass
// over them; Verify knows them and does not report them.
const (
	indexLockFile = ".ocilayout.lock"    // exclusive while index.json is read-modified-written
	leaseLockFile = ".ocilayout-gc.lock" // shared by writers, exclusive by GC
	tempPrefix    = atomicfile.Prefix    // temp files of atomic writes
)

// Option configures Open and Create.
type Option func(*options)

type options struct {
	sharedBlobDir string
	lockTimeout   time.Duration
	lockNotify    func(string)
}

// WithSharedBlobDir stores and looks up blobs in dir (laid out as ALG/HEX,
// without a blobs/ level, as containers/image's OCISharedBlobDirPath does)
// instead of the layout's own blobs/ directory.
func WithSharedBlobDir(dir string) Option { return func(o *options) { o.sharedBlobDir = dir } }

// WithLockTimeout bounds every wait of the layout for one of its locks
// (another process's index update, a running GC, in-flight writers that
// GC or Delete wait for) to d, after which the operation fails with an
// error saying what it waited for; 0 (the default) waits for as long as
// the context allows. Waits always end when the context is cancelled.
// waiting, if not nil, is told once, after a wait has lasted a second,
// what it waits for (by default that goes to logrus at Info level), so a
// command that seems stuck can say why.
func WithLockTimeout(d time.Duration, waiting func(msg string)) Option {
	return func(o *options) { o.lockTimeout, o.lockNotify = d, waiting }
}

// Layout is an open OCI image layout. Its methods are safe for concurrent
// use: the roots are immutable after Open, and index.json changes are
// serialised by flock, which also serialises goroutines of one process
// because each UpdateIndex opens its own lock file description.
type Layout struct {
	dir    string
	root   *os.Root         // the layout directory
	blobs  *blobstore.Store // blobs/ or the shared blob directory
	shared bool

	lockTimeout time.Duration // see WithLockTimeout
	lockNotify  func(string)

	pending sync.WaitGroup // removals started by removeLater; Close waits for them

	supersededMu sync.Mutex
	superseded   []imgspecv1.Descriptor // fallback tag entries transactions replaced; the next gcLocked (Close's, Delete's, GC) reclaims their indexes
}

// Open opens the existing layout at dir for reading. It needs no write
// access, so a layout on a read-only mount or in the module cache works.
func Open(dir string, opts ...Option) (*Layout, error) {
	return open(dir, false, opts)
}

// Create opens the layout at dir for writing. A missing directory (whose
// parent exists) or an empty one is initialised with oci-layout, index.json
// and blobs/; a non-empty directory that is not a layout is refused, so a
// typo cannot scatter files over someone's data.
func Create(dir string, opts ...Option) (*Layout, error) {
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("creating layout directory %s: %w", dir, err)
	}
	return open(dir, true, opts)
}

func open(dir string, create bool, opts []Option) (_ *Layout, retErr error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("opening layout %s: %w", dir, err)
	}
	l := &Layout{dir: dir, root: root, shared: o.sharedBlobDir != "", lockTimeout: o.lockTimeout, lockNotify: o.lockNotify}
	defer func() {
		if retErr != nil {
			l.Close()
		}
	}()
	if create {
		if err := l.initialise(); err != nil {
			return nil, err
		}
		if err := l.checkWritable(); err != nil {
			return nil, err
		}
	} else if _, err := root.Stat(imgspecv1.ImageIndexFile); err != nil {
		return nil, fmt.Errorf("%s is not an OCI image layout: %w", dir, err)
	}
	var blobRoot *os.Root
	if o.sharedBlobDir != "" {
		if create {
			if err := os.MkdirAll(o.sharedBlobDir, 0o755); err != nil {
				return nil, fmt.Errorf("creating shared blob directory %s: %w", o.sharedBlobDir, err)
			}
		}
		blobRoot, err = os.OpenRoot(o.sharedBlobDir)
	} else {
		blobRoot, err = root.OpenRoot(imgspecv1.ImageBlobsDir)
	}
	if err != nil && !(errors.Is(err, fs.ErrNotExist) && !create) {
		return nil, fmt.Errorf("opening blob directory of %s: %w", dir, err)
	}
	l.blobs = blobstore.New(blobRoot, dir)
	return l, nil
}

// initialise makes dir a layout if it is not one, under the index lock so
// that two processes initialising the same directory do not race.
func (l *Layout) initialise() error {
	if _, err := l.root.Stat(imgspecv1.ImageIndexFile); err == nil {
		if err := l.restoreLayoutFile(); err != nil {
			return err
		}
		return l.root.MkdirAll(imgspecv1.ImageBlobsDir, 0o755)
	}
	// Check before taking the lock too: refusing a directory must not
	// leave our lock file in it.
	if err := l.checkInitialisable(); err != nil {
		return err
	}
	unlock, err := l.lock(context.Background(), indexLockFile, true)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := l.root.Stat(imgspecv1.ImageIndexFile); err == nil {
		return l.root.MkdirAll(imgspecv1.ImageBlobsDir, 0o755)
	}
	if err := l.checkInitialisable(); err != nil {
		return err
	}
	if err := l.root.MkdirAll(imgspecv1.ImageBlobsDir, 0o755); err != nil {
		return fmt.Errorf("creating blobs/ in %s: %w", l.dir, err)
	}
	layoutJSON, _ := json.Marshal(imgspecv1.ImageLayout{Version: imgspecv1.ImageLayoutVersion})
	if err := atomicfile.Write(l.root, imgspecv1.ImageLayoutFile, layoutJSON); err != nil {
		return err
	}
	return l.writeIndex(&imgspecv1.Index{Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageIndex, Manifests: []imgspecv1.Descriptor{}})
}

// restoreLayoutFile writes the oci-layout file of a layout that has an
// index.json but lost it (other tools, and the OCI spec, need it), under
// the index lock so that two writers do not race.
func (l *Layout) restoreLayoutFile() error {
	if _, err := l.root.Lstat(imgspecv1.ImageLayoutFile); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	unlock, err := l.lock(context.Background(), indexLockFile, true)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := l.root.Lstat(imgspecv1.ImageLayoutFile); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	layoutJSON, _ := json.Marshal(imgspecv1.ImageLayout{Version: imgspecv1.ImageLayoutVersion})
	return atomicfile.Write(l.root, imgspecv1.ImageLayoutFile, layoutJSON)
}

// checkInitialisable refuses a directory that holds anything but what an
// interrupted initialisation leaves, so Create never adopts someone's data.
func (l *Layout) checkInitialisable() error {
	entries, err := fs.ReadDir(l.root.FS(), ".")
	if err != nil {
		return fmt.Errorf("reading %s: %w", l.dir, err)
	}
	for _, e := range entries {
		switch e.Name() {
		case indexLockFile, leaseLockFile, imgspecv1.ImageLayoutFile, imgspecv1.ImageBlobsDir:
		default:
			if strings.HasPrefix(e.Name(), tempPrefix) {
				continue // a temp file of an initialisation that was killed
			}
			return fmt.Errorf("%s is not empty and not an OCI image layout (it has %s but no index.json)", l.dir, e.Name())
		}
	}
	return nil
}

// Dir returns the directory the layout was opened with, for messages.
func (l *Layout) Dir() string { return l.dir }

// Close releases the layout's directory handles.
//
// The indexes of fallback tags this Layout's transactions rewrote (an
// Attach, a copy carrying signatures or referrers) are garbage once
// replaced; Close removes them, as a gc restricted to them, when no
// writer or reader of any process holds a lease, without waiting for one
// (reclaimReplaced). Otherwise, or when a gc of this Layout ran since, they
// are left to gc: attaching twice no longer leaves a blob that verify
// reports.
func (l *Layout) Close() error {
	l.reclaimReplaced(context.Background())
	l.pending.Wait()
	var errs []error
	if r := l.blobs.Root(); r != nil {
		errs = append(errs, r.Close())
	}
	errs = append(errs, l.root.Close())
	return errors.Join(errs...)
}

// checkContext is a cheap cancellation point before I/O.
func checkContext(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("layout operation cancelled: %w", err)
	}
	return nil
}
