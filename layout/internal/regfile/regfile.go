// Package regfile opens the files of a layout that must be regular files
// (blobs, index.json, oci-layout, link sources) without ever blocking on
// something that is not one.
//
// open(2) of a FIFO for reading blocks until a writer appears, and a
// character device may block or stream for ever, before any check of the
// file's type can run. So every open here is O_NONBLOCK, which makes
// open(2) of a FIFO return at once; the type is then checked on the open
// descriptor (fstat, no race with a rename of the name), and only a
// regular file is handed back, in blocking mode again. One helper for
// every such open in the engine, so a FIFO planted anywhere is refused the
// same way: with an error naming the file, never with a hang.
package regfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// ErrNotRegular is wrapped by Open's error for a FIFO, device, socket or
// directory.
var ErrNotRegular = errors.New("not a regular file")

// Open opens name in root read-only and returns it with its FileInfo, if
// it is a regular file. Symlinks are followed as os.Root follows them
// (never out of root).
func Open(root *os.Root, name string) (*os.File, fs.FileInfo, error) {
	f, err := root.OpenFile(name, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := Check(f)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// Check returns f's FileInfo if f is a regular file, and puts f back in
// blocking mode (a no-op for regular files on Linux, kept so the
// descriptor behaves as a plain open's would everywhere).
func Check(f *os.File) (fs.FileInfo, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w (%s)", ErrNotRegular, describe(fi.Mode()))
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.SetNonblock(int(fd), false) }); err != nil {
		return nil, err
	}
	if serr != nil {
		return nil, fmt.Errorf("clearing O_NONBLOCK: %w", serr)
	}
	return fi, nil
}

// describe names a file type for messages.
func describe(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	}
	return "mode " + m.String()
}
