package integration

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/ocilayout/ocilayout/internal/fixture"
)

// dsLayerPaths returns, for layer i of img in a vfs store at root, its
// layerdb directory and its vfs directory, found the way Docker keys
// them: by chain ID, then cache-id.
func dsLayerPaths(t *testing.T, root string, img *dsImage, i int) (meta, files string) {
	t.Helper()
	chain := img.diffIDs[0]
	for _, d := range img.diffIDs[1 : i+1] {
		chain = digest.FromString(chain.String() + " " + d.String())
	}
	meta = filepath.Join(root, "image", "vfs", "layerdb", "sha256", chain.Encoded())
	cacheID, err := os.ReadFile(filepath.Join(meta, "cache-id"))
	ioMust(t, err, "reading the cache-id of layer %d of %s", i, img.name)
	return meta, filepath.Join(root, "vfs", "dir", string(cacheID))
}

// TestDockerStorageDamagedStore damages copies of a store dockerd wrote
// and checks that reading fails, naming the layer: a file of a layer
// changed (same size), tar-split metadata that is not gzip, tar-split
// metadata that ends early, a layer directory removed.
func TestDockerStorageDamagedStore(t *testing.T) {
	root, imgs, _ := dsLoaded(t, "vfs")
	app := imgs[0]
	for _, c := range []struct {
		name   string
		layer  int // the layer the error must name
		damage func(t *testing.T, root string)
		want   string
	}{
		{"changed file", 2, func(t *testing.T, root string) {
			_, files := dsLayerPaths(t, root, app, 2)
			ioMust(t, os.WriteFile(filepath.Join(files, "app", "run"), []byte("#!/bin/sh\necho APP\n"), 0o755), "changing app/run")
		}, "checksum failed"},
		{"tar-split not gzip", 1, func(t *testing.T, root string) {
			meta, _ := dsLayerPaths(t, root, app, 1)
			ioMust(t, os.WriteFile(filepath.Join(meta, "tar-split.json.gz"), []byte("not gzip"), 0o644), "damaging tar-split")
		}, "tar-split"},
		{"tar-split truncated", 0, func(t *testing.T, root string) {
			meta, _ := dsLayerPaths(t, root, app, 0)
			p := filepath.Join(meta, "tar-split.json.gz")
			zr, err := gzip.NewReader(bytes.NewReader(mustRead(t, p)))
			ioMust(t, err, "gunzip %s", p)
			js, err := io.ReadAll(zr)
			ioMust(t, err, "gunzip %s", p)
			ioMust(t, os.WriteFile(p, fixture.Gzip(t, js[:len(js)/2], gzip.BestSpeed), 0o644), "truncating %s", p)
		}, "tar-split"},
		{"layer directory missing", 1, func(t *testing.T, root string) {
			_, files := dsLayerPaths(t, root, app, 1)
			ioMust(t, os.RemoveAll(files), "removing %s", files)
		}, "missing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			damaged := filepath.Join(t.TempDir(), "root")
			ioRun(t, "cp", "-a", root, damaged)
			c.damage(t, damaged)
			_, err := ioTryCopy(t, "docker-storage:"+damaged+":app:v1", "oci-layout:"+t.TempDir()+":x", nil)
			if err == nil {
				t.Fatal("copying from a damaged store succeeded")
			}
			t.Logf("error: %v", err)
			if want := app.diffIDs[c.layer].String(); !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not name layer %s and say %q", err, want, c.want)
			}
		})
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	ioMust(t, err, "reading %s", p)
	return data
}
