package integration

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"

	_ "github.com/ocilayout/ocilayout/dockerstorage" // registers docker-storage:
	"github.com/ocilayout/ocilayout/internal/fixture"
	"github.com/ocilayout/ocilayout/internal/layouttest"
	"github.com/ocilayout/ocilayout/layout"
)

// dsEntry is one tar entry of a test layer.
type dsEntry struct {
	hdr  tar.Header
	body []byte
}

// dsTar builds an uncompressed layer. The entries exercise what a
// reassembly must get byte for byte: directories with odd modes, symlinks,
// hard links, empty files, whiteouts, an opaque directory, a large
// random file and a long name (a PAX header).
func dsTar(t *testing.T, entries []dsEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := e.hdr
		if h.ModTime.IsZero() {
			h.ModTime = time.Unix(1700000000, 0)
		}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		ioMust(t, tw.WriteHeader(&h), "writing tar header %s", h.Name)
		if _, err := tw.Write(e.body); err != nil {
			t.Fatal(err)
		}
	}
	ioMust(t, tw.Close(), "closing tar")
	return b.Bytes()
}

func dsRandom(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, 0x646f636b))
	out := make([]byte, n)
	for i := range out {
		out[i] = byte(rng.Uint32())
	}
	return out
}

func dsFile(name, body string) dsEntry {
	return dsEntry{hdr: tar.Header{Name: name}, body: []byte(body)}
}

func dsDir(name string, mode int64) dsEntry {
	return dsEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: mode}}
}

// dsLayers are the test layers: a base, one that deletes and hides what
// the base had, and two small ones that two images do not share.
func dsLayers(t *testing.T) map[string][]byte {
	return map[string][]byte{
		"base": dsTar(t, []dsEntry{
			dsDir("etc/", 0o755), dsFile("etc/a", "alpha\n"), dsFile("etc/b", "beta\n"),
			dsDir("opt/", 0o750), dsFile("opt/old", "old\n"),
			{hdr: tar.Header{Name: "etc/link", Typeflag: tar.TypeSymlink, Linkname: "a"}},
			{hdr: tar.Header{Name: "etc/hard", Typeflag: tar.TypeLink, Linkname: "etc/b"}},
			dsFile("empty", ""),
			{hdr: tar.Header{Name: "usr/share/" + strings.Repeat("long-name-", 15)}, body: []byte("pax\n")},
			{hdr: tar.Header{Name: "big.bin", Mode: 0o600}, body: dsRandom(1, 1<<20+17)},
		}),
		"whiteouts": dsTar(t, []dsEntry{
			dsDir("etc/", 0o755), dsFile("etc/.wh.a", ""),
			dsDir("opt/", 0o750), dsFile("opt/.wh..wh..opq", ""), dsFile("opt/new", "new\n"),
		}),
		"app":  dsTar(t, []dsEntry{dsDir("app/", 0o755), {hdr: tar.Header{Name: "app/run", Mode: 0o755}, body: []byte("#!/bin/sh\necho app\n")}}),
		"tool": dsTar(t, []dsEntry{{hdr: tar.Header{Name: "tool", Mode: 0o4755}, body: dsRandom(2, 4096)}}),
	}
}

// dsImage is a test image: its layers by name, and what we computed of it
// from the bytes we made, to check the store's copy against.
type dsImage struct {
	name    string // the name docker load gives it
	layers  []string
	diffIDs []digest.Digest
	config  digest.Digest
}

// dsArchive writes img into an OCI layout with the layout engine, then
// into a docker-archive with copy.Image (the archive docker load takes),
// and returns the archive's path.
func dsArchive(t *testing.T, dir string, img *dsImage, layers map[string][]byte) string {
	t.Helper()
	ctx := context.Background()
	oci := filepath.Join(dir, "oci")
	l, err := layout.Create(oci)
	ioMust(t, err, "creating %s", oci)
	defer l.Close()
	put := func(mt string, data []byte) imgspecv1.Descriptor {
		d, err := layouttest.PutBytes(l, ctx, data)
		ioMust(t, err, "storing a blob in %s", oci)
		return imgspecv1.Descriptor{MediaType: mt, Digest: d, Size: int64(len(data))}
	}
	var descs []imgspecv1.Descriptor
	img.diffIDs = nil
	for _, name := range img.layers {
		img.diffIDs = append(img.diffIDs, digest.FromBytes(layers[name]))
		descs = append(descs, put(imgspecv1.MediaTypeImageLayerGzip, fixture.Gzip(t, layers[name], gzip.BestSpeed)))
	}
	created := time.Unix(1700000000, 0).UTC()
	cfg := fixture.MustJSON(t, imgspecv1.Image{
		Created:  &created,
		Platform: imgspecv1.Platform{Architecture: "amd64", OS: "linux"},
		Config:   imgspecv1.ImageConfig{Cmd: []string{"/app/run"}, Labels: map[string]string{"image": img.name}},
		RootFS:   imgspecv1.RootFS{Type: "layers", DiffIDs: img.diffIDs},
	})
	man := fixture.MustJSON(t, imgspecv1.Manifest{
		Versioned: imgspec.Versioned{SchemaVersion: 2},
		MediaType: imgspecv1.MediaTypeImageManifest,
		Config:    put(imgspecv1.MediaTypeImageConfig, cfg),
		Layers:    descs,
	})
	ioMust(t, layouttest.Tag(l, ctx, put(imgspecv1.MediaTypeImageManifest, man), "img"), "tagging in %s", oci)
	img.config = digest.FromBytes(cfg)
	archive := filepath.Join(dir, "image.tar")
	ioCopy(t, "oci-layout:"+oci+":img", "docker-archive:"+archive+":"+img.name, nil)
	return archive
}

// dsReadOnly bind-mounts dir read-only at a new path and returns it: a
// reader that tried to write, lock or chmod anything there would fail.
func dsReadOnly(t *testing.T, dir string) string {
	t.Helper()
	ro := filepath.Join(t.TempDir(), "ro")
	ioMust(t, os.Mkdir(ro, 0o755), "mkdir %s", ro)
	ioRun(t, "mount", "--bind", dir, ro)
	t.Cleanup(func() { exec.Command("umount", ro).Run() })
	ioRun(t, "mount", "-o", "remount,bind,ro", ro)
	if err := os.WriteFile(filepath.Join(ro, "probe"), nil, 0o644); err == nil {
		t.Fatalf("%s is writable after a read-only bind mount", ro)
	}
	return ro
}

// dsCheckCopy copies src into a fresh OCI layout with the CLI and checks
// it digest by digest: the config is the Docker image ID and the one we
// made, every layer decompresses to the DiffID of the tar we made, and
// ocilayout verify accepts the layout.
func dsCheckCopy(t *testing.T, src string, img *dsImage, dockerID string) {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "layout")
	// --dest-compress: the layers come uncompressed, and the copy is to gzip them
	// (without it a layout keeps them as they are).
	ioCopyCLI(t, src, "oci-layout:"+dst+":copied", "--dest-compress")
	ioVerifyCLI(t, dst)
	data, err := os.ReadFile(filepath.Join(dst, "blobs", "sha256", ioTag(t, dst, "copied").Encoded()))
	ioMust(t, err, "reading the manifest copied from %s", src)
	var m imgspecv1.Manifest
	ioMust(t, json.Unmarshal(data, &m), "parsing the manifest copied from %s", src)
	if m.Config.Digest.String() != dockerID || m.Config.Digest != img.config {
		t.Fatalf("%s: config %s, want Docker's image ID %s = the config we made %s", src, m.Config.Digest, dockerID, img.config)
	}
	if len(m.Layers) != len(img.diffIDs) {
		t.Fatalf("%s: %d layers, want %d", src, len(m.Layers), len(img.diffIDs))
	}
	for i, ld := range m.Layers {
		blob, err := os.ReadFile(filepath.Join(dst, "blobs", "sha256", ld.Digest.Encoded()))
		ioMust(t, err, "reading layer %d copied from %s", i, src)
		zr, err := gzip.NewReader(bytes.NewReader(blob))
		ioMust(t, err, "gunzip layer %d copied from %s (%s)", i, src, ld.MediaType)
		h := digest.SHA256.Digester()
		_, err = io.Copy(h.Hash(), zr)
		ioMust(t, err, "gunzip layer %d copied from %s", i, src)
		if h.Digest() != img.diffIDs[i] {
			t.Errorf("%s: layer %d decompresses to %s, want the DiffID %s of the tar we made", src, i, h.Digest(), img.diffIDs[i])
		}
	}
}

// dsDockerID finds the image Docker reports under name.
func dsDockerID(t *testing.T, imgs []dockerImage, name string) dockerImage {
	t.Helper()
	for _, im := range imgs {
		for _, tag := range im.RepoTags {
			if tag == name {
				return im
			}
		}
	}
	t.Fatalf("docker images has no %s: %+v", name, imgs)
	return dockerImage{}
}

// dsLoaded starts dockerd with driver, loads two images sharing a layer,
// records what the Engine API reports of them and stops the daemon.
func dsLoaded(t *testing.T, driver string) (root string, imgs []*dsImage, reported []dockerImage) {
	t.Helper()
	layers := dsLayers(t)
	imgs = []*dsImage{
		{name: "docker.io/library/app:v1", layers: []string{"base", "whiteouts", "app"}},
		{name: "registry.example.com/ns/tool:2", layers: []string{"base", "tool"}},
	}
	var archives []string
	for _, img := range imgs {
		archives = append(archives, dsArchive(t, t.TempDir(), img, layers))
	}
	d := startDockerd(t, driver)
	for _, a := range archives {
		d.load(t, a)
	}
	reported = d.images(t)
	d.stop(t)
	return d.dataRoot, imgs, reported
}

// TestDockerStorageGraphDriver reads images that a real dockerd loaded
// into its vfs and overlay2 stores, from a read-only bind mount of its
// data root, with every reference form, and checks that not one file
// under the root changed (path, size, mode, mtime).
func TestDockerStorageGraphDriver(t *testing.T) {
	for _, driver := range []string{"vfs", "overlay2"} {
		t.Run(driver, func(t *testing.T) {
			if driver == "overlay2" {
				fss, err := os.ReadFile("/proc/filesystems")
				if err != nil || !bytes.Contains(fss, []byte("\toverlay\n")) {
					t.Skip("the kernel has no overlay filesystem")
				}
			}
			root, imgs, reported := dsLoaded(t, driver)
			before := ioTreeState(t, root)
			ro := dsReadOnly(t, root)
			app := dsDockerID(t, reported, "app:v1")
			tool := dsDockerID(t, reported, "registry.example.com/ns/tool:2")
			for _, c := range []struct {
				ref string
				img *dsImage
				id  string
			}{
				{"app:v1", imgs[0], app.ID},
				{"docker.io/library/app:v1", imgs[0], app.ID},
				{"@" + app.ID, imgs[0], app.ID},
				{"registry.example.com/ns/tool:2", imgs[1], tool.ID},
			} {
				dsCheckCopy(t, "docker-storage:"+ro+":"+c.ref, c.img, c.id)
			}

			dsCheckList(t, ro, reported)
			inspected := mustRunCLI(t, "inspect", "docker-storage:"+ro+":app:v1")
			for _, d := range imgs[0].diffIDs {
				if !strings.Contains(inspected, d.String()) {
					t.Errorf("inspect does not show layer %s:\n%s", d, inspected)
				}
			}

			_, stderr, err := runCLI(t, "copy", "--quiet", "--insecure-policy", "docker-storage:"+ro+":nope:1", "oci-layout:"+t.TempDir()+":x")
			if err == nil || !strings.Contains(stderr, "docker.io/library/nope:1 not found") ||
				!strings.Contains(stderr, "docker.io/library/app:v1") || !strings.Contains(stderr, "registry.example.com/ns/tool:2") {
				t.Errorf("copying an unknown name: err %v, stderr %q; want an error listing both images", err, stderr)
			}

			if after := ioTreeState(t, root); after != before {
				t.Errorf("reading changed the store under %s:\nbefore:\n%s\nafter:\n%s", root, before, after)
			}
		})
	}
}

// dsCheckList checks ocilayout list docker-storage:ROOT --json against
// what the Engine API reported: the same images, names, IDs and sizes.
func dsCheckList(t *testing.T, root string, reported []dockerImage) {
	t.Helper()
	listed, out := dsList(t, root)
	if len(listed) != len(reported) {
		t.Fatalf("list shows %d images, docker images %d:\n%s", len(listed), len(reported), out)
	}
	for _, want := range reported {
		var names []string
		for _, tag := range want.RepoTags {
			names = append(names, dsNormalized(t, tag))
		}
		found := false
		for _, got := range listed {
			if got.ID == want.ID {
				found = true
				if strings.Join(got.Names, " ") != strings.Join(names, " ") || got.Size != want.Size {
					t.Errorf("list shows %+v, docker images %+v", got, want)
				}
			}
		}
		if !found {
			t.Errorf("list does not show %+v:\n%s", want, out)
		}
	}
	table := mustRunCLI(t, "list", "docker-storage:"+root)
	for _, want := range reported {
		if !strings.Contains(table, want.ID) {
			t.Errorf("list table does not show %s:\n%s", want.ID, table)
		}
	}
}

// dsListed is one image of ocilayout list --json docker-storage:ROOT.
type dsListed struct {
	Names []string `json:"names"`
	ID    string   `json:"id"`
	Store string   `json:"store"`
	Size  int64    `json:"size"`
}

// dsList runs ocilayout list --json docker-storage:ROOT and returns the
// images and the raw output, for failure messages.
func dsList(t *testing.T, root string) ([]dsListed, string) {
	t.Helper()
	var listed []dsListed
	out := mustRunCLI(t, "list", "--json", "docker-storage:"+root)
	ioMust(t, json.Unmarshal([]byte(out), &listed), "parsing list --json output %q", out)
	return listed, out
}

// dsNormalized is a name the Engine API shows ("app:v1") as the Docker
// CLI would expand it.
func dsNormalized(t *testing.T, name string) string {
	t.Helper()
	if strings.Count(name, "/") == 0 {
		name = "library/" + name
	}
	if first, _, _ := strings.Cut(name, "/"); !strings.ContainsAny(first, ".:") && first != "localhost" {
		name = "docker.io/" + name
	}
	return name
}
