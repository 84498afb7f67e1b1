package layout

import (
	"bytes"
	"context"
	"errors"
	"github.com/ocilayout/ocilayout/layout/internal/blobstore"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// gtFailingReader returns some bytes, then an error, like a network stream
// that breaks mid-blob.
type gtFailingReader struct{ n int }

func (f *gtFailingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("stream broke")
	}
	n := min(len(p), f.n)
	f.n -= n
	return n, nil
}

func TestPutBlob(t *testing.T) {
	data := []byte("hello, blob")
	other := []byte("something else")
	for _, tc := range []struct {
		name     string
		r        func() io.Reader
		want     digest.Digest
		size     int64
		wantErr  string        // substring; "" for success
		stored   digest.Digest // expected to exist afterwards (success only)
		absent   []digest.Digest
		storedAt string // relative path under blobs/
	}{
		{name: "sha256", r: func() io.Reader { return bytes.NewReader(data) }, want: digest.FromBytes(data), size: int64(len(data)), stored: digest.FromBytes(data), storedAt: "sha256/" + digest.FromBytes(data).Encoded()},
		{name: "unknown digest and size", r: func() io.Reader { return bytes.NewReader(data) }, size: -1, stored: digest.FromBytes(data), storedAt: "sha256/" + digest.FromBytes(data).Encoded()},
		{name: "sha512", r: func() io.Reader { return bytes.NewReader(data) }, want: digest.SHA512.FromBytes(data), size: -1, stored: digest.SHA512.FromBytes(data), storedAt: "sha512/" + digest.SHA512.FromBytes(data).Encoded()},
		{name: "digest mismatch", r: func() io.Reader { return bytes.NewReader(other) }, want: digest.FromBytes(data), size: -1, wantErr: digest.FromBytes(data).String(), absent: []digest.Digest{digest.FromBytes(data), digest.FromBytes(other)}},
		{name: "size mismatch", r: func() io.Reader { return bytes.NewReader(data) }, want: digest.FromBytes(data), size: int64(len(data)) + 1, wantErr: "expected", absent: []digest.Digest{digest.FromBytes(data)}},
		{name: "short stream", r: func() io.Reader { return bytes.NewReader(data[:3]) }, want: digest.FromBytes(data), size: int64(len(data)), wantErr: "expected", absent: []digest.Digest{digest.FromBytes(data), digest.FromBytes(data[:3])}},
		{name: "stream error", r: func() io.Reader { return &gtFailingReader{n: 5} }, want: digest.FromBytes(data), size: -1, wantErr: "stream broke", absent: []digest.Digest{digest.FromBytes(data)}},
		{name: "malformed digest", r: func() io.Reader { return bytes.NewReader(data) }, want: "sha256:../../x", size: -1, wantErr: `"sha256:../../x"`},
		{name: "unknown algorithm", r: func() io.Reader { return bytes.NewReader(data) }, want: "md5:d41d8cd98f00b204e9800998ecf8427e", size: -1, wantErr: `"md5:d41d8cd98f00b204e9800998ecf8427e"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, dir := gtCreate(t)
			ctx := context.Background()
			got, n, err := l.PutBlob(ctx, tc.r(), tc.want, tc.size)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("PutBlob = %s, %v; want an error containing %q", got, err, tc.wantErr)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if got != tc.stored || n != int64(len(data)) {
					t.Fatalf("PutBlob = %s, %d; want %s, %d", got, n, tc.stored, len(data))
				}
				fi, err := os.Stat(filepath.Join(dir, "blobs", tc.storedAt))
				if err != nil {
					t.Fatalf("blob not at blobs/%s: %v", tc.storedAt, err)
				}
				if fi.Mode().Perm() != 0o444 {
					t.Errorf("blob mode %v, want read-only 0444", fi.Mode().Perm())
				}
				if back, err := l.ReadBlob(ctx, tc.stored, int64(len(data))); err != nil || !bytes.Equal(back, data) {
					t.Errorf("ReadBlob after PutBlob = %q, %v", back, err)
				}
			}
			for _, d := range tc.absent {
				if _, err := l.statBlob(ctx, d); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("blob %s exists after a failed PutBlob (err %v)", d, err)
				}
			}
			if left := gtTemps(t, dir); len(left) > 0 {
				t.Errorf("temp files left behind: %v", left)
			}
		})
	}
}

// TestPutVerifiedBlob: without its own hash, PutVerifiedBlob still checks
// the size, refuses a missing or malformed digest, and stores nothing when
// the stream fails (which is how copy.Image reports a digest mismatch).
func TestPutVerifiedBlob(t *testing.T) {
	data := []byte("hello, blob")
	d := digest.FromBytes(data)
	for _, tc := range []struct {
		name    string
		r       io.Reader
		want    digest.Digest
		size    int64
		wantErr string // "" for success
	}{
		{"stored", bytes.NewReader(data), d, int64(len(data)), ""},
		{"size unknown", bytes.NewReader(data), d, -1, ""},
		{"size mismatch", bytes.NewReader(data), d, int64(len(data)) + 1, "expected"},
		{"short stream", bytes.NewReader(data[:3]), d, int64(len(data)), "expected"},
		{"stream error", &gtFailingReader{n: 5}, d, -1, "stream broke"},
		{"no digest", bytes.NewReader(data), "", -1, "needs the blob digest"},
		{"malformed digest", bytes.NewReader(data), "sha256:../../x", -1, `"sha256:../../x"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, dir := gtCreate(t)
			ctx := context.Background()
			got, n, err := l.PutBlob(ctx, tc.r, tc.want, tc.size, SizeOnly())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("PutVerifiedBlob = %s, %v; want an error containing %q", got, err, tc.wantErr)
				}
				if _, err := l.statBlob(ctx, d); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("blob exists after a failed PutVerifiedBlob (err %v)", err)
				}
			} else {
				if err != nil || got != d || n != int64(len(data)) {
					t.Fatalf("PutVerifiedBlob = %s, %d, %v; want %s, %d", got, n, err, d, len(data))
				}
				if back, err := l.ReadBlob(ctx, d, n); err != nil || !bytes.Equal(back, data) {
					t.Errorf("ReadBlob after PutVerifiedBlob = %q, %v", back, err)
				}
			}
			if left := gtTemps(t, dir); len(left) > 0 {
				t.Errorf("temp files left behind: %v", left)
			}
		})
	}
}

// TestPutBlobKeepsExisting: a second put of a present blob keeps the first
// file (same inode), so a reader holding it open is undisturbed.
func TestPutBlobKeepsExisting(t *testing.T) {
	l, dir := gtCreate(t)
	ctx := context.Background()
	data := []byte("kept")
	d, err := l.putBytes(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "blobs", "sha256", d.Encoded())
	before, _ := os.Stat(p)
	if _, err := l.putBytes(ctx, data); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(p)
	if !os.SameFile(before, after) {
		t.Error("the second PutBlob replaced the existing blob file")
	}
	if left := gtTemps(t, dir); len(left) > 0 {
		t.Errorf("temp files left behind: %v", left)
	}
}

// TestPutBlobRepairsCorrupt: a present blob whose content rotted is
// replaced by a second put of the right content, not kept because its
// name and size look right.
func TestPutBlobRepairsCorrupt(t *testing.T) {
	l, dir := gtCreate(t)
	ctx := context.Background()
	data := []byte("will rot")
	d, err := l.putBytes(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "blobs", "sha256", d.Encoded())
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("WILL ROT"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := l.putBytes(ctx, data); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(data) {
		t.Errorf("blob content after re-put = %q, want %q", got, data)
	}
}

// TestPutBlobCancelled: a cancelled context stops the write and leaves nothing.
func TestPutBlobCancelled(t *testing.T) {
	l, dir := gtCreate(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := l.PutBlob(ctx, strings.NewReader("x"), "", -1); !errors.Is(err, context.Canceled) {
		t.Fatalf("PutBlob with a cancelled context: %v", err)
	}
	if left := gtTemps(t, dir); len(left) > 0 {
		t.Errorf("temp files left behind: %v", left)
	}
}

// TestReadBlobVerifies corrupts a stored blob in the ways a disk or a
// hostile hand does and checks that ReadBlob and VerifyingReader refuse it
// with an *IntegrityError naming the digest.
func TestReadBlobVerifies(t *testing.T) {
	data := []byte(`{"schemaVersion":2,"layers":[]}`)
	d := digest.FromBytes(data)
	flipped := bytes.Clone(data)
	flipped[5] ^= 1
	for _, tc := range []struct {
		name    string
		onDisk  []byte
		size    int64
		problem string
	}{
		{name: "flipped byte", onDisk: flipped, size: int64(len(data)), problem: "content has digest"},
		{name: "truncated", onDisk: data[:10], size: int64(len(data)), problem: "size 10"},
		{name: "truncated, size unknown", onDisk: data[:10], size: -1, problem: "content has digest"},
		{name: "descriptor size wrong", onDisk: data, size: int64(len(data)) + 1, problem: "descriptor says"},
		{name: "extended", onDisk: append(bytes.Clone(data), ' '), size: int64(len(data)), problem: "descriptor says"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, dir := gtCreate(t)
			ctx := context.Background()
			gtWriteRaw(t, filepath.Join(dir, "blobs", "sha256", d.Encoded()), tc.onDisk)
			_, err := l.ReadBlob(ctx, d, tc.size)
			var ie *IntegrityError
			if !errors.As(err, &ie) || ie.Digest != d || !strings.Contains(err.Error(), d.String()) || !strings.Contains(err.Error(), tc.problem) {
				t.Fatalf("ReadBlob = %v; want an *IntegrityError naming %s and saying %q", err, d, tc.problem)
			}
			f, err := l.OpenBlob(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			_, err = io.Copy(io.Discard, blobstore.VerifyingReader(f, d, tc.size, true, dir))
			f.Close()
			if !errors.As(err, &ie) || ie.Digest != d {
				t.Fatalf("VerifyingReader read to EOF = %v; want an *IntegrityError naming %s", err, d)
			}
		})
	}
}

// TestVerifyingReaderSizeOnly: with hashing off a wrong size is still
// caught, and correct content passes either way.
func TestVerifyingReaderSizeOnly(t *testing.T) {
	data := []byte("0123456789")
	d := digest.FromBytes(data)
	for _, tc := range []struct {
		name    string
		content []byte
		hashing bool
		ok      bool
	}{
		{"good, hashing", data, true, true},
		{"good, size only", data, false, true},
		{"flipped, size only passes", []byte("0123456788"), false, true},
		{"flipped, hashing", []byte("0123456788"), true, false},
		{"short, size only", data[:9], false, false},
		{"long, size only", append(bytes.Clone(data), '!'), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := blobstore.VerifyingReader(io.NopCloser(bytes.NewReader(tc.content)), d, int64(len(data)), tc.hashing, "dir")
			_, err := io.Copy(io.Discard, r)
			if (err == nil) != tc.ok {
				t.Fatalf("read = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
