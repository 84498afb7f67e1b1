package atomicfile

import (
	"os"

	"golang.org/x/sys/unix"
)

// writeBehindChunk is how much a write lets pile up in the page cache
// before it asks the kernel to start writing it back.
const writeBehindChunk = 8 << 20

// WriteBehind writes to a temp file and, every writeBehindChunk bytes,
// starts the write-back of what it wrote (sync_file_range with
// SYNC_FILE_RANGE_WRITE, which does not wait). The disk then works while
// the rest still arrives, and the fsync before the rename, which stays
// the durability guarantee, finds little left to write: without it a
// 256 MiB pull left all 256 MiB for the final fsyncs, and a 21 MB
// index.json its whole write. It is only a hint; a file system without it
// is unaffected. It also hides *os.File's ReadFrom from io.CopyBuffer,
// which would otherwise ignore the 1 MiB buffer and copy in 32 KiB pieces.
type WriteBehind struct {
	f       *os.File
	written int64 // bytes written so far
	started int64 // bytes whose write-back was started
}

// NewWriteBehind returns a WriteBehind writing to f from its current
// offset, which must be 0.
func NewWriteBehind(f *os.File) *WriteBehind { return &WriteBehind{f: f} }

func (w *WriteBehind) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.wrote(n)
	return n, err
}

// WriteString writes s without copying it, in pieces of writeBehindChunk
// so that the write-back of the first starts while the rest is written
// (a run of a large index.json's entries comes as one string).
func (w *WriteBehind) WriteString(s string) (int, error) {
	total := 0
	for len(s) > 0 {
		piece := s[:min(len(s), writeBehindChunk)]
		n, err := w.f.WriteString(piece)
		w.wrote(n)
		total += n
		if err != nil {
			return total, err
		}
		s = s[n:]
	}
	return total, nil
}

// wrote counts n more bytes written and starts their write-back once
// writeBehindChunk of them are waiting.
func (w *WriteBehind) wrote(n int) {
	w.written += int64(n)
	if w.written-w.started >= writeBehindChunk {
		_ = unix.SyncFileRange(int(w.f.Fd()), w.started, w.written-w.started, unix.SYNC_FILE_RANGE_WRITE)
		w.started = w.written
	}
}
