package layout

import (
	"context"
	"errors"
	"fmt"
	"syscall"
)

// retryDeleteAfterGC handles a Delete whose index.json rewrite found the
// file system full. A delete frees space only after the new index.json is
// in place (a temp file renamed over the old one: the order that keeps a
// crash from leaving an index that names missing blobs), so on a full
// file system it needs room for one index.json first. What can be freed
// without breaking that order is what GC frees: blobs nothing reaches
// already and stale temp files. So collect those, and try the delete once
// more. If that is not enough the error says what to do: free space
// elsewhere (or as root, who has the file system's reserved blocks).
func (l *Layout) retryDeleteAfterGC(ctx context.Context, err error, update func(*IndexTx) error) error {
	res, gcErr := l.GC(ctx)
	if gcErr == nil && res.Files > 0 {
		if err = l.Update(ctx, update); err == nil || !errors.Is(err, syscall.ENOSPC) {
			return err
		}
	}
	return fmt.Errorf("%w (the file system is full, and a delete needs room for a new index.json before it frees anything; what gc could free was not enough: free some space and retry)", err)
}
