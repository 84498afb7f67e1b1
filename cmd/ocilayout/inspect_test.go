package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/internal/fixture"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// inspectCases are the same image reached through dir: (containers/image's
// own code) and through each oci-layout: selector form (ours).
func inspectCases(t *testing.T) (testImage, map[string]string) {
	img := newTestImage(t, "inspect me", "arm64")
	other := newTestImage(t, "other", "amd64")
	tmp := t.TempDir()
	writeDirImage(t, filepath.Join(tmp, "dir"), img)
	lay := filepath.Join(tmp, "layout")
	writeLayout(t, lay, layoutEntry{name: "other", img: other}, layoutEntry{name: "app:v1", img: img})
	return img, map[string]string{
		"dir":      "dir:" + filepath.Join(tmp, "dir"),
		"name":     "oci-layout:" + lay + ":app:v1",
		"index":    "oci-layout:" + lay + ":@1",
		"digest":   "oci-layout:" + lay + ":@" + img.digest().String(),
		"oci-name": "oci:" + lay + ":app:v1",
	}
}

func TestInspect(t *testing.T) {
	img, refs := inspectCases(t)
	for name, ref := range refs {
		t.Run(name, func(t *testing.T) {
			r := mustRun(t, "inspect", ref)
			var out map[string]any
			if err := json.Unmarshal(r.stdout, &out); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, r.stdout)
			}
			for _, k := range []string{"Digest", "RepoTags", "Created", "DockerVersion", "Labels", "Architecture", "Os", "Layers", "LayersData", "Env"} {
				if _, ok := out[k]; !ok {
					t.Errorf("output lacks %s: %s", k, r.stdout)
				}
			}
			layer := fixture.Descriptor("", img.layer).Digest.String()
			want := map[string]any{
				"Digest":       img.digest().String(),
				"RepoTags":     []any{},
				"Created":      "2023-11-14T22:13:20Z",
				"Architecture": "arm64",
				"Os":           "linux",
				"Labels":       map[string]any{"test.content": "inspect me"},
				"Env":          []any{"CONTENT=inspect me"},
				"Layers":       []any{layer},
			}
			for k, v := range want {
				if !reflect.DeepEqual(out[k], v) {
					t.Errorf("%s = %#v, want %#v", k, out[k], v)
				}
			}
			ld, _ := out["LayersData"].([]any)
			if len(ld) != 1 {
				t.Fatalf("LayersData = %v", out["LayersData"])
			}
			l0 := ld[0].(map[string]any)
			if l0["Digest"] != layer || l0["Size"] != float64(len(img.layer)) || l0["MIMEType"] != imgspecv1.MediaTypeImageLayerGzip {
				t.Errorf("LayersData[0] = %v", l0)
			}
		})
	}
}

func TestInspectRaw(t *testing.T) {
	img, refs := inspectCases(t)
	for name, ref := range refs {
		t.Run(name, func(t *testing.T) {
			// Byte-exact: no re-serialisation, no trailing newline.
			if r := mustRun(t, "inspect", "--raw", ref); !bytes.Equal(r.stdout, img.manifest) {
				t.Errorf("--raw = %q, want %q", r.stdout, img.manifest)
			}
			if r := mustRun(t, "inspect", "--raw", "--config", ref); !bytes.Equal(r.stdout, img.config) {
				t.Errorf("--raw --config = %q, want %q", r.stdout, img.config)
			}
			r := mustRun(t, "inspect", "--config", ref)
			var cfg imgspecv1.Image
			if err := json.Unmarshal(r.stdout, &cfg); err != nil {
				t.Fatalf("--config is not an OCI config: %v\n%s", err, r.stdout)
			}
			if cfg.Architecture != "arm64" || len(cfg.RootFS.DiffIDs) != 1 || cfg.RootFS.DiffIDs[0] != img.diffID {
				t.Errorf("--config = %s", r.stdout)
			}
		})
	}
}

func TestInspectFormat(t *testing.T) {
	img, refs := inspectCases(t)
	r := mustRun(t, "inspect", "--format", "{{.Digest}} {{.Os}}/{{.Architecture}}", refs["name"])
	if got, want := string(r.stdout), img.digest().String()+" linux/arm64\n"; got != want {
		t.Errorf("--format output %q, want %q", got, want)
	}
	assertOneLineError(t, runCLI(t, "inspect", "--format", "{{.Nope", refs["dir"]), 2, "--format")
	assertOneLineError(t, runCLI(t, "inspect", "--format", "{{.Nope}}", refs["dir"]), 1, "Nope")
	assertOneLineError(t, runCLI(t, "inspect", "--raw", "--format", "{{.Digest}}", refs["dir"]), 2, "--raw")
	if strings.Contains(string(mustRun(t, "inspect", refs["dir"]).stdout), "\"Name\"") {
		t.Errorf("a dir: image has no Docker name, so Name must be omitted")
	}
}
