package layout

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ocilayout/ocilayout/layout/internal/flock"
)

// TestGCGivesUpAfterTheLockTimeout: GC waiting for a writer's lease gives up when
// the layout's lock timeout expires, and says so: the error is
// flock.ErrTimeout naming the timeout (not a bare "context deadline
// exceeded"), and names what it waited for. A caller's own cancellation
// stays a cancellation.
func TestGCGivesUpAfterTheLockTimeout(t *testing.T) {
	l, dir := gtCreate(t)
	writer, err := l.AcquireWriteLease(context.Background())
	must(t, err)
	defer writer.Release()

	for _, tc := range []struct {
		name        string
		lockTimeout time.Duration
		ctxTimeout  time.Duration
		wantTimeout bool // errors.Is(err, flock.ErrTimeout)
		want        string
	}{
		{"lock timeout", 300 * time.Millisecond, 30 * time.Second, true, "after 300ms"},
		{"caller's deadline", 0, 300 * time.Millisecond, false, "deadline exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gl, err := Open(dir, WithLockTimeout(tc.lockTimeout, nil))
			must(t, err)
			defer gl.Close()
			ctx, cancel := context.WithTimeout(context.Background(), tc.ctxTimeout)
			defer cancel()
			start := time.Now()
			_, err = gl.GC(ctx)
			if err == nil {
				t.Fatal("GC ran although a writer held its lease")
			}
			if time.Since(start) > 20*time.Second {
				t.Errorf("GC gave up after %s", time.Since(start))
			}
			if got := errors.Is(err, flock.ErrTimeout); got != tc.wantTimeout {
				t.Errorf("errors.Is(%v, flock.ErrTimeout) = %v, want %v", err, got, tc.wantTimeout)
			}
			for _, w := range []string{tc.want, "waiting for in-flight writers and readers", dir} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
