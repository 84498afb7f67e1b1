// Package retry runs an operation again after failures that another
// attempt can fix, as skopeo's --retry-times does. It is shared by
// "ocilayout copy" and the mirror package so that both retry the same
// failures with the same delays.
package retry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"go.podman.io/image/v5/signature"
)

// Do runs f up to 1+times times. Failures that another attempt cannot fix
// (cancellation, policy rejections) are returned at once. Without a fixed
// delay it waits 1s, 2s, 4s, ... like skopeo's default. Each retry is
// announced on report (which may be io.Discard) as one line.
func Do(ctx context.Context, times int, delay time.Duration, report io.Writer, f func() error) error {
	for attempt := 0; ; attempt++ {
		err := f()
		if err == nil || attempt >= times || !Retryable(err) {
			return err
		}
		wait := delay
		if wait == 0 {
			wait = time.Second << min(attempt, 6)
		}
		if report != nil {
			fmt.Fprintf(report, "Attempt %d/%d failed: %s; retrying in %s\n", attempt+1, times+1, oneLine(err.Error()), wait)
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// Retryable reports whether another attempt could succeed where err failed.
func Retryable(err error) bool {
	var pre signature.PolicyRequirementError
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) && !errors.As(err, &pre)
}

// oneLine folds a multi-line error (containers/image joins some with
// newlines) into one line, as the CLI's own error line does.
func oneLine(s string) string {
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "; ")
}
