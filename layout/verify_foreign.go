package layout

import (
	"fmt"
	"os"
	"syscall"
)

// problemLockFile: a lock file that ocilayout would refuse to use (a
// symlink, not a regular file, a hard link, another user's, or one others
// can open), so writes would fail or could be blocked by anyone.
const problemLockFile = "lockfile"

// checkLockFile reports lock file name if writes could not use it as it
// is (see flock.Lock for the rules).
func (v *verifier) checkLockFile(name string) {
	fi, err := v.l.root.Lstat(name)
	if err != nil {
		v.add(Problem{Kind: problemLockFile, Path: name, Detail: err.Error()})
		return
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	detail := ""
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		detail = "is a symlink: every write refuses it (remove it while no ocilayout command runs)"
	case !fi.Mode().IsRegular():
		detail = "is not a regular file: every write refuses it (remove it while no ocilayout command runs)"
	case st != nil && st.Nlink != 1:
		detail = fmt.Sprintf("has %d names (a hard link): every write refuses it", st.Nlink)
	case fi.Mode().Perm()&0o077 != 0:
		detail = fmt.Sprintf("can be opened by others (mode %04o), who could hold it and block every writer (the next write by its owner replaces it)", fi.Mode().Perm())
	}
	if detail != "" {
		v.add(Problem{Kind: problemLockFile, Path: name, Detail: detail})
	}
}

// note records a foreign file in the layout directory: reported, but not
// a problem, since other tools keep their own files next to a layout
// (oras an ingest/ directory) and a layout they wrote correctly is sound.
func (v *verifier) note(name, detail string) {
	v.mu.Lock()
	v.report.Notes = append(v.report.Notes, Problem{Kind: problemStray, Path: name, Detail: detail})
	v.mu.Unlock()
}
