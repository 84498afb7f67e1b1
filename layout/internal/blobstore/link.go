package blobstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"syscall"

	"github.com/ocilayout/ocilayout/layout/internal/atomicfile"
	"github.com/ocilayout/ocilayout/layout/internal/regfile"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// LinkMethod says how Link materialised a blob.
type LinkMethod string

// The ways of putting a blob of another layout into this one without
// streaming it through user space, cheapest first.
const (
	LinkReflink  LinkMethod = "reflink"         // FICLONE: shares extents, copy-on-write
	LinkHardlink LinkMethod = "hardlink"        // same inode: zero extra blocks
	LinkCopy     LinkMethod = "copy_file_range" // in-kernel copy
)

// Link puts blob d of size size into this layout by linking it
// from srcBlobDir, the blob directory (ALG/HEX inside) of another layout on
// the same file system. It tries a reflink, then a hard link, then
// copy_file_range, always into a temp name that is renamed into place, so a
// reader never sees a partial blob.
//
// With verify set, the linked content is hashed after linking and before
// the rename (for a reflink or a copy that is the very data that will be
// served; for a hard link it is the shared inode), so a corrupt source blob
// never lands under d: the error is an *IntegrityError and nothing is kept.
// Without verify the source layout is trusted: that makes the reuse cost
// what metadata costs, and is sound only when whoever can write the source
// layout is trusted as much as the destination (the blob files are 0444, but
// their owner can still change them).
//
// A source blob that is missing, not a regular file, of another size, or
// on another file system is not an error: Link returns "", nil and
// the caller streams the blob instead.
func (s *Store) Link(ctx context.Context, srcBlobDir string, d digest.Digest, size int64, verify bool) (LinkMethod, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("linking blob %s into %s: %w", d, s.dir, err)
	}
	p, err := Path(d)
	if err != nil {
		return "", err
	}
	dst, err := s.rootOrErr()
	if err != nil {
		return "", err
	}
	srcRoot, err := os.OpenRoot(srcBlobDir)
	if err != nil {
		return "", nil
	}
	defer srcRoot.Close()
	// A FIFO or device offered as a link source (a stale cache entry, or
	// a hostile layout) is skipped without blocking, like a missing one.
	src, _, err := regfile.Open(srcRoot, p)
	if err != nil {
		return "", nil
	}
	defer src.Close()
	srcDev, ok := regularFileDev(src, size)
	if !ok {
		return "", nil
	}
	if err := dst.MkdirAll(d.Algorithm().String(), 0o755); err != nil {
		return "", fmt.Errorf("creating blob directory in %s: %w", s.dir, err)
	}
	dstDir, err := dst.Open(".")
	if err != nil {
		return "", fmt.Errorf("opening blob directory of %s: %w", s.dir, err)
	}
	defer dstDir.Close()
	if dev, ok := regularFileDev(dstDir, -1); ok || dev != srcDev {
		// ok means the blob root is a regular file: not a directory at all.
		return "", nil
	}
	// Whose file is the source? A hard link shares its inode, so whoever
	// can write that inode could change our blob after any check: only a
	// file of the blob directory's owner that nobody else can write may be
	// shared. Anyone else's is copied (reflink or copy_file_range: a new
	// inode of ours) and, trusted links or not, hashed before it is kept.
	safe := safeToShare(src, dstDir)
	if !safe {
		verify = true
	}

	tmp, method, err := linkToTemp(dst, dstDir, src, srcRoot, p, safe)
	if err != nil || method == "" {
		return "", err
	}
	committed := false
	defer func() {
		if !committed {
			_ = dst.Remove(tmp)
		}
	}()
	if verify {
		if err := s.verifyFile(ctx, dst, tmp, d, size); err != nil {
			return "", err
		}
	}
	if err := dst.Rename(tmp, p); err != nil {
		return "", fmt.Errorf("renaming linked blob into %s: %w", path.Join(dst.Name(), p), err)
	}
	committed = true
	// Renaming a hard link over another link to the same inode (the blob
	// was already there, linked from the same source) does nothing and
	// leaves the temp name behind.
	_ = dst.Remove(tmp)
	if err := atomicfile.SyncDir(dst, d.Algorithm().String()); err != nil {
		return "", err
	}
	return method, nil
}

// regularFileDev returns f's device, and whether f is a regular file of
// size size (any size if size < 0).
func regularFileDev(f *os.File, size int64) (uint64, bool) {
	fi, err := f.Stat()
	if err != nil {
		return 0, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return uint64(st.Dev), fi.Mode().IsRegular() && (size < 0 || fi.Size() == size)
}

// safeToShare reports whether the source file may become our blob's inode
// (a hard link): it belongs to the owner of the destination blob
// directory, who can replace our blobs anyway, and neither group nor
// others may write it. (ACLs are not consulted: a source with an ACL
// granting writes to others is a gap.)
func safeToShare(src, dstDir *os.File) bool {
	si, err := src.Stat()
	if err != nil {
		return false
	}
	di, err := dstDir.Stat()
	if err != nil {
		return false
	}
	ss, ok1 := si.Sys().(*syscall.Stat_t)
	ds, ok2 := di.Sys().(*syscall.Stat_t)
	return ok1 && ok2 && ss.Uid == ds.Uid && si.Mode().Perm()&0o022 == 0
}

// linkToTemp materialises src under a new temp name in dst's top
// directory; hardlink says whether sharing src's inode is allowed. method
// is "" when no way worked and the caller should stream.
func linkToTemp(dst *os.Root, dstDir, src *os.File, srcRoot *os.Root, p string, hardlink bool) (string, LinkMethod, error) {
	f, tmp, err := atomicfile.Create(dst, ".")
	if err != nil {
		return "", "", err
	}
	if unix.IoctlFileClone(int(f.Fd()), int(src.Fd())) == nil {
		return tmp, LinkReflink, finishTemp(dst, f, tmp)
	}
	f.Close()
	_ = dst.Remove(tmp)

	// Linkat on directory descriptors of both roots: os.Root.Link cannot
	// cross roots, and descriptors keep the names confined to each root.
	srcDir, err := srcRoot.Open(path.Dir(p))
	if err == nil && hardlink {
		for range 10 {
			name := atomicfile.Prefix + randomSuffix()
			err = unix.Linkat(int(srcDir.Fd()), path.Base(p), int(dstDir.Fd()), name, 0)
			if errors.Is(err, unix.EEXIST) {
				continue
			}
			if err == nil {
				// Linkat went by name: it must still be the file whose
				// owner and mode were checked, not one swapped in since.
				if sameInode(dst, name, src) {
					srcDir.Close()
					return name, LinkHardlink, nil
				}
				_ = dst.Remove(name)
			}
			break
		}
	}
	if srcDir != nil {
		srcDir.Close()
	}

	f, tmp, err = atomicfile.Create(dst, ".")
	if err != nil {
		return "", "", err
	}
	if err := copyFileRange(f, src); err != nil {
		f.Close()
		_ = dst.Remove(tmp)
		return "", "", nil
	}
	return tmp, LinkCopy, finishTemp(dst, f, tmp)
}

// sameInode reports whether name in root is the inode f is open on.
func sameInode(root *os.Root, name string, f *os.File) bool {
	ni, err := root.Lstat(name)
	if err != nil {
		return false
	}
	fi, err := f.Stat()
	return err == nil && os.SameFile(ni, fi)
}

// finishTemp gives a reflinked or copied temp file the mode of a blob and
// makes it durable before it is renamed into place.
func finishTemp(dst *os.Root, f *os.File, tmp string) error {
	defer f.Close()
	if err := f.Chmod(0o444); err != nil {
		_ = dst.Remove(tmp)
		return fmt.Errorf("chmod of %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		_ = dst.Remove(tmp)
		return fmt.Errorf("syncing %s: %w", tmp, err)
	}
	return nil
}

// copyFileRange copies all of src into dst inside the kernel.
func copyFileRange(dst, src *os.File) error {
	var off int64
	for {
		n, err := unix.CopyFileRange(int(src.Fd()), &off, int(dst.Fd()), nil, 1<<30, 0)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
	}
}

// Location returns the absolute path of the directory holding this
// layout's blobs as ALG/HEX (blobs/ or the shared blob directory) and the
// device it is on: what another layout needs to Link from it, and what
// decides whether it can (links do not cross file systems).
func (s *Store) Location() (string, uint64, error) {
	root, err := s.rootOrErr()
	if err != nil {
		return "", 0, err
	}
	dir, err := filepath.Abs(root.Name())
	if err != nil {
		return "", 0, fmt.Errorf("locating blob directory of %s: %w", s.dir, err)
	}
	fi, err := root.Stat(".")
	if err != nil {
		return "", 0, fmt.Errorf("stat of blob directory of %s: %w", s.dir, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", 0, fmt.Errorf("stat of blob directory of %s: no device number", s.dir)
	}
	return dir, uint64(st.Dev), nil
}
