package main

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestList(t *testing.T) {
	a := newTestImage(t, "a", "amd64")
	b := newTestImage(t, "b", "arm64")
	dir := filepath.Join(t.TempDir(), "layout")
	writeLayout(t, dir,
		layoutEntry{name: "app:v1", img: a},
		layoutEntry{img: b, platform: &imgspecv1.Platform{Architecture: "arm64", OS: "linux"}},
		layoutEntry{name: "quay.io/ns/app:2", img: a},
	)

	t.Run("table", func(t *testing.T) {
		r := mustRun(t, "list", dir)
		lines := strings.Split(strings.TrimSuffix(string(r.stdout), "\n"), "\n")
		want := [][]string{
			{"NAME", "DIGEST", "MEDIA", "TYPE", "SIZE"},
			{"app:v1", a.digest().String(), imgspecv1.MediaTypeImageManifest, strconv.Itoa(len(a.manifest))},
			{"<none>", b.digest().String(), imgspecv1.MediaTypeImageManifest, strconv.Itoa(len(b.manifest))},
			{"quay.io/ns/app:2", a.digest().String(), imgspecv1.MediaTypeImageManifest, strconv.Itoa(len(a.manifest))},
		}
		if len(lines) != len(want) {
			t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), r.stdout)
		}
		for i, l := range lines {
			if got := strings.Fields(l); !reflect.DeepEqual(got, want[i]) {
				t.Errorf("line %d = %q, want fields %q", i, l, want[i])
			}
		}
		// Columns are aligned: every row's DIGEST starts where the header's does.
		col := strings.Index(lines[0], "DIGEST")
		for _, l := range lines[1:] {
			if strings.Index(l, "sha256:") != col {
				t.Errorf("row %q: digest not aligned at column %d", l, col)
			}
		}
	})

	t.Run("json", func(t *testing.T) {
		r := mustRun(t, "list", "--json", dir)
		var got []map[string]any
		if err := json.Unmarshal(r.stdout, &got); err != nil {
			t.Fatalf("--json output is not a JSON array: %v\n%s", err, r.stdout)
		}
		if len(got) != 3 {
			t.Fatalf("got %d entries, want 3: %s", len(got), r.stdout)
		}
		wantKeys := []string{"digest", "mediaType", "name", "size"}
		for i, e := range got {
			keys := make([]string, 0, len(e))
			for k := range e {
				keys = append(keys, k)
			}
			w := wantKeys
			if i == 1 {
				w = []string{"digest", "mediaType", "name", "platform", "size"}
			}
			if !sameSet(keys, w) {
				t.Errorf("entry %d has keys %v, want %v", i, keys, w)
			}
		}
		if got[0]["name"] != "app:v1" || got[0]["digest"] != a.digest().String() ||
			got[0]["mediaType"] != imgspecv1.MediaTypeImageManifest || got[0]["size"] != float64(len(a.manifest)) {
			t.Errorf("entry 0 = %v", got[0])
		}
		if got[1]["name"] != "" || got[1]["digest"] != b.digest().String() {
			t.Errorf("entry 1 = %v", got[1])
		}
		if p, _ := got[1]["platform"].(map[string]any); p["architecture"] != "arm64" || p["os"] != "linux" {
			t.Errorf("entry 1 platform = %v", got[1]["platform"])
		}
	})

	t.Run("empty", func(t *testing.T) {
		empty := filepath.Join(t.TempDir(), "empty")
		writeLayout(t, empty)
		if r := mustRun(t, "list", "--json", empty); strings.TrimSpace(string(r.stdout)) != "[]" {
			t.Errorf("empty layout --json = %q, want []", r.stdout)
		}
		if r := mustRun(t, "list", empty); strings.Fields(string(r.stdout))[0] != "NAME" || strings.Count(string(r.stdout), "\n") != 1 {
			t.Errorf("empty layout table = %q, want the header alone", r.stdout)
		}
	})

	t.Run("missing", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "nope")
		assertOneLineError(t, runCLI(t, "list", missing), 1, missing)
	})
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]bool{}
	for _, s := range a {
		m[s] = true
	}
	for _, s := range b {
		if !m[s] {
			return false
		}
	}
	return true
}
