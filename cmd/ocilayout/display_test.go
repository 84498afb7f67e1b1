package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/internal/fixture"
)

// TestListEscapesControlCharacters: a ref.name with a newline, a tab or an
// escape sequence cannot forge a row or hide itself in `list`: it is
// printed quoted, on its own row.
func TestListEscapesControlCharacters(t *testing.T) {
	a := newTestImage(t, "a", "amd64")
	dir := filepath.Join(t.TempDir(), "layout")
	writeLayout(t, dir, layoutEntry{name: "app", img: a})
	idx := fixture.ReadIndex(t, dir)
	forged := idx.Manifests[0]
	forged.Annotations = map[string]string{"org.opencontainers.image.ref.name": "x\nadmin-approved\tsha256:0000\x1b[8m"}
	idx.Manifests = append(idx.Manifests, forged)
	fixture.WriteIndex(t, dir, idx)

	out := string(mustRun(t, "list", dir).stdout)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines for 2 entries:\n%s", len(lines), out)
	}
	if strings.ContainsAny(out, "\x1b\t") || !strings.HasPrefix(lines[2], `"x\nadmin-approved\tsha256:0000\x1b[8m"`) {
		t.Fatalf("forged name not quoted:\n%q", out)
	}
	if !strings.HasPrefix(lines[1], "app ") {
		t.Fatalf("plain name changed: %q", lines[1])
	}
}
