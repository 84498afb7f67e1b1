package registrycopy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/ocilayout/ocilayout/internal/fixture"
	"github.com/ocilayout/ocilayout/layout"
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/copy"
)

// TestPullRefusesWrongBlob: a registry that sends other bytes for a layer
// (same size, one byte flipped) fails the pull, naming the layer; the tag
// never appears in the layout, the wrong layer is not stored, and gc
// takes what the failed pull had stored (the manifest, written as soon as
// its config is in, among it when the config came first), leaving a
// layout that verifies sound.
func TestPullRefusesWrongBlob(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	img := writeImage(t, src, "app", 3, 256<<10, imgspecv1.MediaTypeImageLayerGzip, 9)
	bad := fixtureDigest(img.layers[1])
	e := newEnvWith(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+bad.String()) {
				w = &flipWriter{ResponseWriter: w, at: int64(len(img.layers[1]) / 2)}
			}
			next.ServeHTTP(w, r)
		})
	})
	pc := insecurePolicy(t)
	if _, err := Copy(t.Context(), pc, e.dockerRef(t, "hostile/app:v1"), layoutRef(t, src, "app"), e.options(nil)); err != nil {
		t.Fatalf("push: %v", err)
	}

	dst := filepath.Join(t.TempDir(), "dst")
	_, err := Copy(t.Context(), pc, layoutRef(t, dst, "app"), e.dockerRef(t, "hostile/app:v1"), e.options(nil))
	if err == nil || !strings.Contains(err.Error(), bad.Encoded()) || !strings.Contains(err.Error(), "digest") {
		t.Fatalf("pull of a wrong layer: %v, want an error about its digest naming %s", err, bad)
	}
	if idx := fixture.ReadIndex(t, dst); len(idx.Manifests) != 0 {
		t.Errorf("the failed pull left index entries: %v", idx.Manifests)
	}
	l, err := layout.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	res, err := l.GC(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range res.Blobs {
		if strings.Contains(b.Path, bad.Encoded()) {
			t.Errorf("the wrong layer had been stored: %s", b.Path)
		}
	}
	rep, err := l.Verify(t.Context())
	if err != nil || len(rep.Problems) != 0 {
		t.Errorf("verify after the failed pull and gc: %v %v", err, rep.Problems)
	}
}

// flipWriter flips the byte at offset at of the body written through it.
type flipWriter struct {
	http.ResponseWriter
	at, written int64
}

func (f *flipWriter) Write(p []byte) (int, error) {
	if i := f.at - f.written; i >= 0 && i < int64(len(p)) {
		p = append([]byte(nil), p...)
		p[i] ^= 0xff
	}
	n, err := f.ResponseWriter.Write(p)
	f.written += int64(n)
	return n, err
}

// TestEachBlobGivesUpPlaceAtDone: with one place, the second blob starts
// once the first calls done, before the first returns (a pull's fsync
// then overlaps the next GET); without done it would wait for ever.
func TestEachBlobGivesUpPlaceAtDone(t *testing.T) {
	r := route{o: &copy.Options{MaxParallelDownloads: 1}}
	second := make(chan struct{})
	ds := []imgspecv1.Descriptor{{Digest: digest.FromString("a")}, {Digest: digest.FromString("b")}}
	err := r.eachBlob(t.Context(), ds, func(_ context.Context, b imgspecv1.Descriptor, done func()) error {
		if b.Digest == ds[1].Digest {
			close(second)
			return nil
		}
		done()
		done() // a second call gives up nothing more
		select {
		case <-second:
			return nil
		case <-time.After(time.Minute):
			return errors.New("the second blob did not start while the first had called done")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAtEOF: done is called when the stream has given its last byte, not
// before and not on a failed read (the blob is then not complete).
func TestAtEOF(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    io.Reader
		want int
	}{
		{"whole", strings.NewReader("blob"), 1},
		{"empty", strings.NewReader(""), 1},
		{"broken", io.MultiReader(strings.NewReader("bl"), iotest.ErrReader(errors.New("reset"))), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			a := atEOF{r: tc.r, done: func() { calls++ }}
			buf := make([]byte, 1)
			for {
				if _, err := a.Read(buf); err != nil {
					break
				}
				if calls != 0 {
					t.Fatalf("done called before the end")
				}
			}
			if calls != tc.want {
				t.Errorf("done called %d times, want %d", calls, tc.want)
			}
		})
	}
}
