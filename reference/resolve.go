package reference

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// resolveDir returns dir as an absolute, clean path in which every component
// that exists has had its symlinks resolved; components that do not exist
// yet are appended as written. This is what policy identities are computed
// from: it makes different spellings of the same directory ("x", "./x",
// "/link/to/x") share one policy, without requiring the directory to exist
// (a destination creates it).
//
// Unlike containers/image's explicitfilepath, more than the last component
// may be missing. A dangling symlink is an error rather than a missing name:
// treating it as a literal name would give a policy identity that stops
// describing the directory as soon as the symlink's target is created.
func resolveDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("resolving %q: %w", dir, err)
	}
	existing := abs
	var missing []string // in reverse order
	for {
		_, err := os.Lstat(existing)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("resolving %q: %w", dir, err)
		}
		parent := filepath.Dir(existing)
		if parent == existing { // Coverage: "/" always exists.
			return abs, nil
		}
		missing = append(missing, filepath.Base(existing))
		existing = parent
	}
	resolved, err := filepath.EvalSymlinks(existing)
	if err != nil {
		return "", fmt.Errorf("resolving %q: %w", dir, err)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		resolved = filepath.Join(resolved, missing[i])
	}
	return filepath.Clean(resolved), nil
}
