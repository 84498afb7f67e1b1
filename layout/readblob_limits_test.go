package layout

import (
	"bytes"
	"context"
	"errors"
	"github.com/ocilayout/ocilayout/layout/internal/blobstore"
	"io"
	"testing"

	"github.com/opencontainers/go-digest"
)

// TestReadBlobLimits: ReadBlob takes a blob of exactly maxManifestSize
// bytes and refuses one byte more, whether the size is declared or not;
// and a declared size of 0 is checked like any other.
func TestReadBlobLimits(t *testing.T) {
	ctx := context.Background()
	l, _ := gtCreate(t)
	atLimit := bytes.Repeat([]byte{'m'}, maxManifestSize)
	over := append(bytes.Clone(atLimit), 'm')
	dAt, err := l.putBytes(ctx, atLimit)
	if err != nil {
		t.Fatal(err)
	}
	dOver, err := l.putBytes(ctx, over)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int64{maxManifestSize, -1} {
		if got, err := l.ReadBlob(ctx, dAt, size); err != nil || len(got) != maxManifestSize {
			t.Errorf("ReadBlob of a %d-byte blob (size %d) = %d bytes, %v; want it whole", maxManifestSize, size, len(got), err)
		}
	}
	for _, size := range []int64{maxManifestSize + 1, -1} {
		if _, err := l.ReadBlob(ctx, dOver, size); err == nil {
			t.Errorf("ReadBlob of a %d-byte blob (size %d) succeeded; want it refused", len(over), size)
		}
	}
	small, err := l.putBytes(ctx, []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	var integrity *IntegrityError
	if _, err := l.ReadBlob(ctx, small, 0); !errors.As(err, &integrity) {
		t.Errorf("ReadBlob of a 2-byte blob declared 0 bytes = %v; want an IntegrityError", err)
	}
}

// TestVerifyingReaderStopsPastSize: the read that goes past the declared
// size fails there, before EOF, so an endless stream cannot be read for
// ever; a declared size of 0 is no exception.
func TestVerifyingReaderStopsPastSize(t *testing.T) {
	for _, size := range []int64{0, 3} {
		r := blobstore.VerifyingReader(io.NopCloser(bytes.NewReader([]byte("0123456789"))), digest.FromString("x"), size, false, "dir")
		var integrity *IntegrityError
		if _, err := r.Read(make([]byte, 64)); !errors.As(err, &integrity) {
			t.Errorf("size %d: the first read of 10 bytes = %v; want an IntegrityError", size, err)
		}
	}
}
