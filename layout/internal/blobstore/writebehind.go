package blobstore

import (
	"os"

	"golang.org/x/sys/unix"
)

// writeBehindChunk is how much a blob write lets pile up in the page cache
// before it asks the kernel to start writing it back.
const writeBehindChunk = 8 << 20

// writeBehind writes to a temp blob file and, every writeBehindChunk
// bytes, starts the write-back of what it wrote (sync_file_range with
// SYNC_FILE_RANGE_WRITE, which does not wait). The disk then works while
// the rest of the blob still arrives, and the fsync before the rename,
// which stays the durability guarantee, finds little left to write:
// without it a 256 MiB pull left all 256 MiB for the final fsyncs. It is
// only a hint; a file system without it is unaffected. It also hides
// *os.File's ReadFrom from io.CopyBuffer, which would otherwise ignore
// the 1 MiB buffer and copy in 32 KiB pieces.
type writeBehind struct {
	f       *os.File
	written int64 // bytes written so far
	started int64 // bytes whose write-back was started
}

func (w *writeBehind) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.written += int64(n)
	if w.written-w.started >= writeBehindChunk {
		_ = unix.SyncFileRange(int(w.f.Fd()), w.started, w.written-w.started, unix.SYNC_FILE_RANGE_WRITE)
		w.started = w.written
	}
	return n, err
}
