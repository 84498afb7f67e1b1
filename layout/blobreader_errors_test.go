package layout

import (
	"context"
	"errors"
	"testing"

	"github.com/opencontainers/go-digest"
)

// TestBlobReaderFailures: a blob that is missing or of another size than
// the descriptor says is refused before any byte is read, with size -1
// (unknown, as containers/image's GetBlob reports it) and, for the size,
// an *IntegrityError naming the digest; a size of -1 accepts any.
func TestBlobReaderFailures(t *testing.T) {
	ctx := context.Background()
	l, _ := gtCreate(t)
	data := []byte("seven bytes")
	d, err := l.putBytes(ctx, data)
	must(t, err)
	for _, tc := range []struct {
		name      string
		d         digest.Digest
		size      int64
		ok        bool
		integrity bool
	}{
		{"present, right size", d, int64(len(data)), true, false},
		{"present, any size", d, -1, true, false},
		{"present, wrong size", d, int64(len(data)) + 1, false, true},
		{"present, descriptor says 0 bytes", d, 0, false, true},
		{"missing", digest.FromString("missing"), 7, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc, size, err := l.BlobReader(ctx, tc.d, tc.size)
			if tc.ok {
				if err != nil || size != int64(len(data)) {
					t.Fatalf("BlobReader = %d, %v; want %d, nil", size, err, len(data))
				}
				rc.Close()
				return
			}
			if err == nil {
				rc.Close()
				t.Fatal("BlobReader succeeded")
			}
			if size != -1 {
				t.Errorf("size %d with an error, want -1", size)
			}
			var ie *IntegrityError
			if got := errors.As(err, &ie) && ie.Digest == tc.d; got != tc.integrity {
				t.Errorf("IntegrityError naming %s = %v, want %v (%v)", tc.d, got, tc.integrity, err)
			}
		})
	}
}
