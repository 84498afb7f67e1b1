package layout

import (
	"bufio"
	"context"
	"fmt"
	"io"
)

// How index.json's size is bounded. Readers refuse an index.json larger
// than maxIndexSize (it would cost memory without limit), so writers never
// grow it past that: a write that would is refused with an error saying
// so, and leaves the file as it was. A larger index.json can still appear
// (another tool wrote it, or an older ocilayout), and then every reader
// refuses it; so that the layout can be repaired, Delete and GC read it
// with a higher limit, maxRepairIndexSize, and may write it back as long
// as they do not grow it: deleting entries shrinks it until readers accept
// it again.

// repairKey marks a context whose index reads use the repair limit.
type repairKey struct{}

// maxRepairIndexSize is the limit Delete and GC read index.json with.
func maxRepairIndexSize() int64 { return 4 * maxIndexSize }

// withRepairLimit returns ctx for the index reads of Delete and GC.
func withRepairLimit(ctx context.Context) context.Context {
	return context.WithValue(ctx, repairKey{}, true)
}

// indexLimit is the largest index.json a read under ctx accepts.
func indexLimit(ctx context.Context) int64 {
	if ctx.Value(repairKey{}) != nil {
		return maxRepairIndexSize()
	}
	return maxIndexSize
}

// indexWriteLimit is the largest index.json a write may leave: what
// readers accept, or, when the current one (of size current) is already
// larger, its size (a repair must be able to shrink it step by step).
func indexWriteLimit(current int64) int64 {
	return max(maxIndexSize, current)
}

// limitedWriter fails a write that would take the total past n bytes.
type limitedWriter struct {
	w    io.Writer
	n    int64
	what string
}

func (lw *limitedWriter) Write(p []byte) (int, error) {
	if err := lw.take(len(p)); err != nil {
		return 0, err
	}
	return lw.w.Write(p)
}

// WriteString is Write of a string, passed on as one: a run of entries
// written back as read (entryList.entries) is most of a large index.json,
// and bufio hands a string larger than its buffer to a writer that takes
// strings without copying it.
func (lw *limitedWriter) WriteString(s string) (int, error) {
	if err := lw.take(len(s)); err != nil {
		return 0, err
	}
	return io.WriteString(lw.w, s)
}

// take counts n more bytes against the limit.
func (lw *limitedWriter) take(n int) error {
	if int64(n) > lw.n {
		return fmt.Errorf("%s would be larger than the %d-byte limit readers accept; delete images (or entries) first", lw.what, maxIndexSize)
	}
	lw.n -= int64(n)
	return nil
}

// limitIndexWriter wraps w so that writing more than the index write limit
// (for a current index.json of size current) fails before the file is
// renamed into place.
func (l *Layout) limitIndexWriter(w *bufio.Writer, current int64) *bufio.Writer {
	return bufio.NewWriterSize(&limitedWriter{w: w, n: indexWriteLimit(current), what: "index.json of " + l.dir}, 64<<10)
}
