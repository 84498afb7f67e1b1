package layout

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVerifyLockFilesAndForeignFiles: verify calls a layout unsound when a
// lock file is one writes would refuse or anyone could block (so "sound"
// means writes work), and calls a layout another tool wrote correctly
// sound although it holds that tool's files (oras's empty ingest/), which
// it lists as notes.
func TestVerifyLockFilesAndForeignFiles(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		setup     func(t *testing.T, dir string)
		wantProb  string // "" for sound
		wantNotes []string
	}{
		{"lock file is a directory", func(t *testing.T, dir string) {
			must(t, os.Remove(filepath.Join(dir, indexLockFile)))
			must(t, os.Mkdir(filepath.Join(dir, indexLockFile), 0o700))
		}, indexLockFile + ": lockfile: is not a regular file", nil},
		{"lock file is a symlink", func(t *testing.T, dir string) {
			must(t, os.Remove(filepath.Join(dir, indexLockFile)))
			must(t, os.Symlink("index.json", filepath.Join(dir, indexLockFile)))
		}, indexLockFile + ": lockfile: is a symlink", nil},
		{"lock file others can open", func(t *testing.T, dir string) {
			must(t, os.Chmod(filepath.Join(dir, indexLockFile), 0o644))
		}, indexLockFile + ": lockfile: can be opened by others", nil},
		{"oras ingest/ and a README", func(t *testing.T, dir string) {
			must(t, os.Mkdir(filepath.Join(dir, "ingest"), 0o755))
			must(t, os.WriteFile(filepath.Join(dir, "README"), []byte("hi"), 0o644))
		}, "", []string{"README", "ingest"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, dir := gtCreate(t)
			must(t, l.addManifest(ctx, gtManifest(t, l, "v"), "app"))
			tc.setup(t, dir)
			r, err := l.Verify(ctx)
			must(t, err)
			var probs []string
			for _, p := range r.Problems {
				probs = append(probs, p.String())
			}
			if tc.wantProb == "" && len(probs) > 0 || tc.wantProb != "" && (len(probs) != 1 || !strings.HasPrefix(probs[0], tc.wantProb)) {
				t.Fatalf("problems %q, want %q", probs, tc.wantProb)
			}
			var notes []string
			for _, n := range r.Notes {
				notes = append(notes, n.Path)
			}
			if strings.Join(notes, ",") != strings.Join(tc.wantNotes, ",") {
				t.Fatalf("notes %q, want %q", notes, tc.wantNotes)
			}
		})
	}
}
