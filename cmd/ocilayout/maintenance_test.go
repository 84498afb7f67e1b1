package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/internal/fixture"
	"github.com/opencontainers/go-digest"
)

func blobFile(dir string, data []byte) string {
	return filepath.Join(dir, "blobs", "sha256", digest.FromBytes(data).Encoded())
}

func TestDeleteGCVerify(t *testing.T) {
	a := newTestImage(t, "a", "amd64")
	b := newTestImage(t, "b", "arm64")
	dir := filepath.Join(t.TempDir(), "layout")
	writeLayout(t, dir,
		layoutEntry{name: "app:v1", img: a},
		layoutEntry{name: "app:v2", img: b},
		layoutEntry{name: "other", img: a},
	)
	if r := mustRun(t, "verify", dir); !strings.Contains(string(r.stdout), ": sound: 3 entries, 6 blobs") {
		t.Errorf("verify of a sound layout printed %q", r.stdout)
	}

	r := mustRun(t, "delete", "oci-layout:"+dir+":app:v2")
	if !strings.Contains(string(r.stdout), "Removed entry app:v2 "+b.digest().String()) || !strings.Contains(string(r.stdout), "Reclaimed 3 blobs") {
		t.Errorf("delete printed %q", r.stdout)
	}
	for _, blob := range [][]byte{b.manifest, b.config, b.layer} {
		if _, err := os.Stat(blobFile(dir, blob)); !os.IsNotExist(err) {
			t.Errorf("blob of the deleted image still there: %v", err)
		}
	}

	r = mustRun(t, "delete", "--json", "oci-layout:"+dir+":@"+a.digest().String())
	var del struct {
		Entries   []json.RawMessage `json:"entries"`
		Reclaimed struct {
			Blobs []json.RawMessage `json:"blobs"`
		} `json:"reclaimed"`
	}
	if err := json.Unmarshal(r.stdout, &del); err != nil || len(del.Entries) != 2 || len(del.Reclaimed.Blobs) != 3 {
		t.Errorf("delete by digest --json: %v %s", err, r.stdout)
	}
	if r := mustRun(t, "list", dir); strings.Count(string(r.stdout), "\n") != 1 {
		t.Errorf("entries left after deleting everything:\n%s", r.stdout)
	}

	assertOneLineError(t, runCLI(t, "delete", "oci-layout:"+dir+":nosuch"), exitFailure, `"nosuch"`, dir)
}

func TestGCAndVerifyCLI(t *testing.T) {
	a := newTestImage(t, "a", "amd64")
	dir := filepath.Join(t.TempDir(), "layout")
	writeLayout(t, dir, layoutEntry{name: "app", img: a})
	garbage := []byte("garbage left by a moved tag")
	fixture.WriteFile(t, blobFile(dir, garbage), garbage)

	// An unreachable blob makes the layout unsound.
	r := runCLI(t, "verify", dir)
	want := digest.FromBytes(garbage).String() + ": unreachable: "
	if r.code != exitFailure || !strings.HasPrefix(string(r.stdout), want) || strings.Count(string(r.stdout), "\n") != 1 {
		t.Errorf("verify: exit %d, stdout %q, want one line starting %q", r.code, r.stdout, want)
	}
	if s := string(r.stderr); !strings.HasPrefix(s, "ocilayout: ") || !strings.Contains(s, "1 problem") || strings.Count(s, "\n") != 1 {
		t.Errorf("verify stderr %q", s)
	}

	var out struct {
		DryRun bool  `json:"dryRun"`
		Files  int   `json:"files"`
		Bytes  int64 `json:"bytes"`
	}
	r = mustRun(t, "gc", "--dry-run", "--json", dir)
	if err := json.Unmarshal(r.stdout, &out); err != nil || !out.DryRun || out.Files != 1 || out.Bytes != int64(len(garbage)) {
		t.Errorf("gc --dry-run --json: %v %s", err, r.stdout)
	}
	if _, err := os.Stat(blobFile(dir, garbage)); err != nil {
		t.Errorf("--dry-run removed the blob: %v", err)
	}
	r = mustRun(t, "gc", dir)
	if !strings.HasPrefix(string(r.stdout), "Removed 1 blobs and 0 temp files, 27 bytes") {
		t.Errorf("gc printed %q", r.stdout)
	}
	mustRun(t, "verify", dir)

	// Corruption: a flipped byte in the layer, reported in JSON too.
	p := blobFile(dir, a.layer)
	data := readFile(t, p)
	data[10] ^= 0xff
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, "verify", "--json", dir)
	var rep struct {
		Problems []struct{ Kind, Digest string } `json:"problems"`
	}
	if err := json.Unmarshal(r.stdout, &rep); err != nil || r.code != exitFailure || len(rep.Problems) != 1 ||
		rep.Problems[0].Kind != "digest" || rep.Problems[0].Digest != digest.FromBytes(a.layer).String() {
		t.Errorf("verify --json of a corrupt layer: exit %d, %v, %s", r.code, err, r.stdout)
	}

	assertOneLineError(t, runCLI(t, "gc", filepath.Join(dir, "nosuch")), exitFailure, "nosuch")
	assertOneLineError(t, runCLI(t, "verify"), exitUsage, "PATH")
}
