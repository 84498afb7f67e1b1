package layout

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
)

// cancellingReader serves data in chunks of at most chunk bytes and calls
// cancel once the first chunk has been read (after checking, through
// midWrite, that the write is under way), so the context is cancelled in
// the middle of the blob write. The rest of the stream is intact and
// finite: a put that ignored the cancellation would succeed, not hang.
type cancellingReader struct {
	data     []byte
	chunk    int
	reads    int
	cancel   func()
	midWrite func()
}

func (r *cancellingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	if r.reads == 1 {
		r.midWrite()
		r.cancel()
	}
	r.reads++
	n := copy(p[:min(len(p), r.chunk)], r.data)
	r.data = r.data[n:]
	return n, nil
}

// TestPutBlobCancelledMidWrite: cancelling the context after the first
// chunk of a blob has been written stops PutBlob (and PutVerifiedBlob) with
// context.Canceled, stores nothing under the digest and leaves no temp
// file. TestPutBlobCancelled cancels before the call, which the check at
// the start of putBlob catches on its own.
func TestPutBlobCancelledMidWrite(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	d := digest.FromBytes(data)
	for name, put := range map[string]func(*Layout, context.Context, io.Reader) error{
		"PutBlob": func(l *Layout, ctx context.Context, r io.Reader) error {
			_, _, err := l.PutBlob(ctx, r, d, int64(len(data)))
			return err
		},
		"PutVerifiedBlob": func(l *Layout, ctx context.Context, r io.Reader) error {
			_, _, err := l.PutBlob(ctx, r, d, int64(len(data)), SizeOnly())
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			l, dir := gtCreate(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r := &cancellingReader{data: data, chunk: 32 << 10, cancel: cancel, midWrite: func() {
				if len(gtTemps(t, dir)) == 0 {
					t.Error("no temp file while the blob is being written: the cancellation would not be mid-write")
				}
			}}
			err := put(l, ctx, r)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("%s cancelled after the first chunk = %v; want context.Canceled", name, err)
			}
			if len(r.data) == 0 {
				t.Errorf("the stream was read to its end despite the cancellation")
			}
			if _, err := os.Stat(filepath.Join(dir, "blobs", "sha256", d.Encoded())); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("blob stored despite the cancellation (stat: %v)", err)
			}
			if left := gtTemps(t, dir); len(left) > 0 {
				t.Errorf("temp files left behind: %v", left)
			}
		})
	}
}
