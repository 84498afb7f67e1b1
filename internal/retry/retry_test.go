package retry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.podman.io/image/v5/signature"
)

func TestDo(t *testing.T) {
	transient := errors.New("connection reset\nby peer")
	policy := signature.PolicyRequirementError("rejected by policy")
	for _, tc := range []struct {
		name      string
		times     int
		errs      []error // what each attempt returns; nil after the list
		wantCalls int
		wantErr   error
		wantLines int
	}{
		{"success", 3, nil, 1, nil, 0},
		{"transient then success", 3, []error{transient, transient}, 3, nil, 2},
		{"out of attempts", 1, []error{transient, transient, transient}, 2, transient, 1},
		{"no retries asked", 0, []error{transient}, 1, transient, 0},
		{"policy rejection is final", 3, []error{policy}, 1, policy, 0},
		{"cancellation is final", 3, []error{fmt.Errorf("copying: %w", context.Canceled)}, 1, context.Canceled, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			var report bytes.Buffer
			err := Do(context.Background(), tc.times, time.Millisecond, &report, func() error {
				calls++
				if calls <= len(tc.errs) {
					return tc.errs[calls-1]
				}
				return nil
			})
			if calls != tc.wantCalls || !errors.Is(err, tc.wantErr) && err != tc.wantErr {
				t.Errorf("%d calls, error %v; want %d calls, error %v", calls, err, tc.wantCalls, tc.wantErr)
			}
			lines := strings.Count(report.String(), "\n")
			if lines != tc.wantLines {
				t.Errorf("report %q has %d lines, want %d", report.String(), lines, tc.wantLines)
			}
			if lines > 0 && !strings.Contains(report.String(), "Attempt 1/") || strings.Contains(strings.TrimSuffix(report.String(), "\n"), "reset\nby") {
				t.Errorf("report %q: want one line per retry, the error on one line", report.String())
			}
		})
	}
}

func TestDoStopsWaitingWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := Do(ctx, 5, time.Hour, nil, func() error {
		calls++
		cancel()
		return errors.New("transient")
	})
	if calls != 1 || err == nil {
		t.Errorf("%d calls, %v: a cancelled wait must return the last error at once", calls, err)
	}
}
