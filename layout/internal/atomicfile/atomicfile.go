// Package atomicfile writes files inside an os.Root so that a reader, or
// the file system after a crash, sees the old content or the new, never a
// mix: temp file beside the target, fsync, rename, fsync of the directory.
package atomicfile

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
)

// Prefix starts the name of every temp file: GC recognises leftovers of
// crashed writes by it, and readers pass over them.
const Prefix = ".ocilayout-tmp-"

// tempName returns a fresh, unguessable temp file name. The prefix lets
// GC recognise the file after a crash and readers pass over it.
func tempName() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return Prefix + hex.EncodeToString(b[:])
}

// Create creates a new temp file next to where its content will be
// renamed to (rename is only atomic within one file system). The name
// starts with Prefix so that GC can recognise and reclaim it after a
// crash, and readers never mistake it for a blob.
func Create(root *os.Root, dir string) (*os.File, string, error) {
	var f *os.File
	name, err := newTempName(dir, func(name string) (err error) {
		f, err = root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("creating temp file in %s: %w", path.Join(root.Name(), dir), err)
	}
	return f, name, nil
}

// newTempName calls try with fresh temp names in dir until one does not
// fail with fs.ErrExist, and returns that name; a name is random, so a
// second collision is all but impossible, and ten end the attempts.
func newTempName(dir string, try func(name string) error) (string, error) {
	for range 10 {
		name := path.Join(dir, tempName())
		err := try(name)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return name, err
	}
	return "", errors.New("too many collisions")
}

// Commit makes f durable and moves it to name: fsync the data, close,
// rename over name, fsync the directory so the rename itself survives a
// crash. On error the temp file is removed.
func Commit(root *os.Root, f *os.File, tmp, name string) (retErr error) {
	defer func() {
		if retErr != nil {
			f.Close()
			_ = root.Remove(tmp)
		}
	}()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", tmp, err)
	}
	if err := root.Rename(tmp, name); err != nil {
		return fmt.Errorf("renaming into %s: %w", path.Join(root.Name(), name), err)
	}
	return SyncDir(root, path.Dir(name))
}

// Keep gives the file name a second name, a fresh temp name beside it,
// and returns that name. Replacing a large file by rename frees its blocks
// inside the rename (on ext4, 7 ms for a 21 MB index.json, while its lock
// is held); with a second name the rename only drops a link, and the
// caller removes the old content afterwards, when it suits it. A crash in
// between leaves the second name as a temp file, which gc reclaims.
func Keep(root *os.Root, name string) (string, error) {
	tmp, err := newTempName(path.Dir(name), func(tmp string) error { return root.Link(name, tmp) })
	if err != nil {
		return "", fmt.Errorf("linking %s to a temp name: %w", path.Join(root.Name(), name), err)
	}
	return tmp, nil
}

// SyncDir fsyncs a directory so that entries created or renamed in it are
// on disk.
func SyncDir(root *os.Root, dir string) error {
	d, err := root.Open(dir)
	if err != nil {
		return fmt.Errorf("opening %s to sync it: %w", path.Join(root.Name(), dir), err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory %s: %w", path.Join(root.Name(), dir), err)
	}
	return nil
}

// Write replaces name with data so that a reader, or the file
// after a crash, holds either the old content or the new, never a mix.
func Write(root *os.Root, name string, data []byte) error {
	return WriteFunc(root, name, func(w *bufio.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteFunc is Write for content that write produces
// as a stream, buffered on its way to the temp file.
func WriteFunc(root *os.Root, name string, write func(*bufio.Writer) error) error {
	f, tmp, err := Create(root, path.Dir(name))
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(NewWriteBehind(f), 256<<10)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		f.Close()
		_ = root.Remove(tmp)
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	return Commit(root, f, tmp, name)
}
