package integration

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// ioFixtures is containers/image's own oci/layout/fixtures directory in
// the module cache, found through the go command so no version is
// hard-coded here. The module cache is read-only.
func ioFixtures(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "go.podman.io/image/v5").Output()
	if err != nil {
		t.Fatalf("go list -m -f {{.Dir}} go.podman.io/image/v5: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "oci", "layout", "fixtures")
}

// ioTreeState is every path under root with its size, mode and mtime.
func ioTreeState(t *testing.T, root string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %d %v %d\n", p, fi.Size(), fi.Mode(), fi.ModTime().UnixNano())
		return nil
	})
	ioMust(t, err, "walking %s", root)
	return b.String()
}

// TestInteropContainersImageFixtures reads the OCI layouts containers/image
// tests its oci: transport with, in place in the read-only module cache:
// every name, an index tagged twice, nested indexes (an instance by
// digest, the whole index with --all) and a name used twice (the first
// entry wins, as with the built-in oci:). Two fixtures, one of them the
// shared-blob-dir one, carry wrong descriptor sizes, which we refuse.
// Nothing under the fixtures may change.
func TestInteropContainersImageFixtures(t *testing.T) {
	fix := ioFixtures(t)
	before := ioTreeState(t, fix)
	multi := filepath.Join(fix, "delete_image_multiple_images")

	t.Run("names", func(t *testing.T) {
		var entries []struct {
			Name   string        `json:"name"`
			Digest digest.Digest `json:"digest"`
		}
		ioMust(t, json.Unmarshal([]byte(mustRunCLI(t, "list", "--json", multi)), &entries), "parsing list --json")
		want := map[string]string{
			"latest": "a2f798327b3f", "3.18.3": "a2f798327b3f", "3": "93cbd11a4f41", "3.18": "93cbd11a4f41",
			"3.17.5": "5b2aba4d3c27", "3.16.7": "861d3c014b0e", "1.0.0": "0dc27f36a618",
		}
		if len(entries) != len(want) {
			t.Errorf("list %s: %d entries, want %d", multi, len(entries), len(want))
		}
		for _, e := range entries {
			if !strings.HasPrefix(e.Digest.Encoded(), want[e.Name]) || want[e.Name] == "" {
				t.Errorf("list %s: %s is %s, want sha256:%s…", multi, e.Name, e.Digest, want[e.Name])
			}
			raw := mustRunCLI(t, "inspect", "--raw", "oci-layout:"+multi+":"+e.Name)
			if got := digest.FromString(raw); got != e.Digest {
				t.Errorf("inspect --raw %s:%s hashes to %s, want %s", multi, e.Name, got, e.Digest)
			}
		}
	})

	cases := []struct {
		name  string
		src   string
		flags []string
		want  string // manifest digest prefix after the copy, or the error's text
		bad   bool   // the fixture's descriptors give wrong sizes: we must refuse it
	}{
		{"nested-index-all", "oci-layout:" + multi + ":3.16.7", []string{"--all"}, "861d3c014b0e", false},
		{"nested-instance-by-digest", "oci-layout:" + multi + ":@sha256:f6d60fd529b234d3e28837e15294d935f55da58ce57c4f9218cad38d0be82ce3", nil, "f6d60fd529b2", false},
		// Two entries named 1.0.0: the built-in oci: takes the first; so do we.
		{"duplicate-name", "oci-layout:" + filepath.Join(fix, "delete_image_two_identical_references") + ":1.0.0", nil, "49d1584496c6", false},
		// These two fixtures (made for delete tests) describe their config
		// as 585 bytes (it has 740) and their manifest as 405 (it has
		// 476). The built-in oci: never checks; we refuse, naming the blob.
		{"wrong-config-size", "oci-layout:" + filepath.Join(fix, "delete_image_only_one_image") + ":latest", nil,
			"blob sha256:a527179158cd5cebc11c152b8637b47ce96c838ba2aa0de66d14f45cedc11423 in " + filepath.Join(fix, "delete_image_only_one_image") + " is corrupt: size 740, descriptor says 585", true},
		{"shared-blob-dir-wrong-manifest-size", "oci-layout:" + filepath.Join(fix, "delete_image_shared_blobs_dir") + ":latest",
			[]string{"--src-shared-blob-dir", filepath.Join(fix, "delete_image_shared_blobs_dir", "shared_blobs")},
			"blob sha256:eaa95f3cfaac07c8a5153eb77c933269586ad0226c83405776be08547e4d2a18 in " + filepath.Join(fix, "delete_image_shared_blobs_dir") + " is corrupt: size 476, descriptor says 405", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ours := filepath.Join(t.TempDir(), "ours")
			if tc.bad {
				args := append(append([]string{"copy", "--quiet", "--insecure-policy"}, tc.flags...), tc.src, "oci-layout:"+ours+":x")
				_, stderr, err := runCLI(t, args...)
				if err == nil || !strings.Contains(stderr, tc.want) {
					t.Errorf("copy %s: err %v, stderr %q; want a failure saying %q", tc.src, err, stderr, tc.want)
				}
				return
			}
			ioCopyCLI(t, tc.src, "oci-layout:"+ours+":x", append(tc.flags, "--preserve-digests")...)
			ioVerifyCLI(t, ours)
			if got := ioTag(t, ours, "x"); !strings.HasPrefix(got.Encoded(), tc.want) {
				t.Errorf("copy %s gave %s, want sha256:%s…", tc.src, got, tc.want)
			}
		})
	}
	t.Run("same-as-builtin-oci", func(t *testing.T) {
		// The built-in transport reads the same fixtures to the same bytes.
		// (The built-in has no digest selector, so names only.)
		for _, ref := range []string{multi + ":latest", multi + ":3.18", multi + ":1.0.0", filepath.Join(fix, "delete_image_two_identical_references") + ":1.0.0"} {
			a := mustRunCLI(t, "inspect", "--raw", "oci:"+ref)
			b := mustRunCLI(t, "inspect", "--raw", "oci-layout:"+ref)
			if a != b {
				t.Errorf("%s: oci: and oci-layout: return different manifests", ref)
			}
		}
	})

	if after := ioTreeState(t, fix); after != before {
		t.Errorf("reading the fixtures changed %s (a reader must need no write access)", fix)
	}
}
