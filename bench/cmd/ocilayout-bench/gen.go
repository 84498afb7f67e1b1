package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// layoutWriter writes a plain OCI layout directly (no fsync, no lock):
// the generator needs speed, not durability, and the layouts it makes are
// then read by both transports alike.
type layoutWriter struct {
	dir       string
	manifests []imgspecv1.Descriptor
}

func newLayoutWriter(dir string) (*layoutWriter, error) {
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return nil, err
	}
	return &layoutWriter{dir: dir}, os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
}

// put writes a blob produced by fill (which writes to w) and returns its descriptor.
func (w *layoutWriter) put(mediaType string, fill func(io.Writer) error) (imgspecv1.Descriptor, error) {
	f, err := os.CreateTemp(filepath.Join(w.dir, "blobs", "sha256"), ".gen-")
	if err != nil {
		return imgspecv1.Descriptor{}, err
	}
	defer os.Remove(f.Name())
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	if err := fill(cw); err != nil {
		f.Close()
		return imgspecv1.Descriptor{}, err
	}
	if err := f.Close(); err != nil {
		return imgspecv1.Descriptor{}, err
	}
	d := digest.NewDigest(digest.SHA256, h)
	if err := os.Rename(f.Name(), filepath.Join(w.dir, "blobs", "sha256", d.Encoded())); err != nil {
		return imgspecv1.Descriptor{}, err
	}
	return imgspecv1.Descriptor{MediaType: mediaType, Digest: d, Size: cw.n}, nil
}

func (w *layoutWriter) putBytes(mediaType string, data []byte) (imgspecv1.Descriptor, error) {
	return w.put(mediaType, func(out io.Writer) error { _, err := out.Write(data); return err })
}

// putImage writes a config and a manifest over layers and remembers the
// manifest for index.json under name.
func (w *layoutWriter) putImage(name string, layers []imgspecv1.Descriptor, diffIDs []digest.Digest) error {
	cfg, _ := json.Marshal(imgspecv1.Image{
		Platform: imgspecv1.Platform{OS: "linux", Architecture: "amd64"},
		RootFS:   imgspecv1.RootFS{Type: "layers", DiffIDs: diffIDs},
	})
	cd, err := w.putBytes(imgspecv1.MediaTypeImageConfig, cfg)
	if err != nil {
		return err
	}
	m, _ := json.Marshal(imgspecv1.Manifest{Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageManifest, Config: cd, Layers: layers})
	md, err := w.putBytes(imgspecv1.MediaTypeImageManifest, m)
	if err != nil {
		return err
	}
	if name != "" {
		md.Annotations = map[string]string{imgspecv1.AnnotationRefName: name}
	}
	w.manifests = append(w.manifests, md)
	return nil
}

func (w *layoutWriter) writeIndex() error {
	idx, _ := json.Marshal(imgspecv1.Index{Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageIndex, Manifests: w.manifests})
	return os.WriteFile(filepath.Join(w.dir, "index.json"), idx, 0o644)
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// gzipLayer writes size bytes of pseudo-random data as a gzip stream
// with stored (uncompressed) blocks: valid gzip that containers/image keeps
// as is, generated at disk speed, and as large as the data itself. It
// returns the digest of the uncompressed data (the diff ID).
func gzipLayer(out io.Writer, seed uint64, size int64) (digest.Digest, error) {
	zw, _ := gzip.NewWriterLevel(out, gzip.NoCompression)
	h := sha256.New()
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16)})
	buf := make([]byte, 1<<20)
	for size > 0 {
		n := min(int64(len(buf)), size)
		_, _ = rng.Read(buf[:n])
		if _, err := io.MultiWriter(zw, h).Write(buf[:n]); err != nil {
			return "", err
		}
		size -= n
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	return digest.NewDigest(digest.SHA256, h), nil
}

func genImage(args []string) error {
	fs := newFlags("gen-image")
	dir := fs.String("dir", "", "layout directory to create")
	name := fs.String("name", "app", "tag")
	size := fs.Int64("size", 1<<30, "total uncompressed bytes")
	layers := fs.Int("layers", 4, "number of layers")
	seed := fs.Uint64("seed", 1, "content seed")
	asTar := fs.Bool("tar", false, "layers are tar archives of files (else raw bytes)")
	compressible := fs.Float64("compressible", 0, "with -tar: the fraction of files that hold compressible text")
	uncompressed := fs.Bool("uncompressed", false, "with -tar: layers are plain tar, not gzip")
	_ = fs.Parse(args)
	if *dir == "" || *layers < 1 {
		return fmt.Errorf("need -dir and -layers >= 1")
	}
	if (*uncompressed || *compressible != 0) && !*asTar {
		return fmt.Errorf("-uncompressed and -compressible need -tar")
	}
	mediaType, fillLayer := imgspecv1.MediaTypeImageLayerGzip, gzipLayer
	if *asTar {
		fillLayer = func(out io.Writer, seed uint64, size int64) (digest.Digest, error) {
			if *uncompressed {
				return tarLayer(out, seed, size, *compressible)
			}
			zw, _ := gzip.NewWriterLevel(out, gzip.NoCompression)
			d, err := tarLayer(zw, seed, size, *compressible)
			if err != nil {
				return "", err
			}
			return d, zw.Close()
		}
		if *uncompressed {
			mediaType = imgspecv1.MediaTypeImageLayer
		}
	}
	w, err := newLayoutWriter(*dir)
	if err != nil {
		return err
	}
	var descs []imgspecv1.Descriptor
	var diffIDs []digest.Digest
	for i := range *layers {
		var diffID digest.Digest
		d, err := w.put(mediaType, func(out io.Writer) error {
			var err error
			diffID, err = fillLayer(out, *seed*1000+uint64(i), *size/int64(*layers))
			return err
		})
		if err != nil {
			return err
		}
		descs, diffIDs = append(descs, d), append(diffIDs, diffID)
	}
	if err := w.putImage(*name, descs, diffIDs); err != nil {
		return err
	}
	return w.writeIndex()
}

// genTags writes one small image tagged t0..tN-1: the cost of an index
// update or lookup then depends on the entry count alone.
func genTags(args []string) error {
	fs := newFlags("gen-tags")
	dir := fs.String("dir", "", "layout directory to create")
	tags := fs.Int("tags", 10000, "number of tags")
	_ = fs.Parse(args)
	w, err := newLayoutWriter(*dir)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	diffID, err := gzipLayer(&buf, 7, 4096)
	if err != nil {
		return err
	}
	layer, err := w.putBytes(imgspecv1.MediaTypeImageLayerGzip, buf.Bytes())
	if err != nil {
		return err
	}
	if err := w.putImage("", []imgspecv1.Descriptor{layer}, []digest.Digest{diffID}); err != nil {
		return err
	}
	m := w.manifests[0]
	w.manifests = nil
	for i := range *tags {
		e := m
		e.Annotations = map[string]string{imgspecv1.AnnotationRefName: "t" + strconv.Itoa(i)}
		w.manifests = append(w.manifests, e)
	}
	return w.writeIndex()
}

// genBlobs writes 20 images whose layers total size bytes over blobs
// blobs (configs and manifests included): the shape verify and gc meet in
// a mirror of many small images.
func genBlobs(args []string) error {
	fs := newFlags("gen-blobs")
	dir := fs.String("dir", "", "layout directory to create")
	size := fs.Int64("size", 1<<30, "total layer bytes")
	blobs := fs.Int("blobs", 20000, "number of blobs")
	_ = fs.Parse(args)
	const images = 20
	perImage := *blobs/images - 2 // minus config and manifest
	if perImage < 1 {
		return fmt.Errorf("-blobs must be at least %d", 3*images)
	}
	w, err := newLayoutWriter(*dir)
	if err != nil {
		return err
	}
	layerSize := *size / int64(images*perImage)
	for img := range images {
		var descs []imgspecv1.Descriptor
		var diffIDs []digest.Digest
		for i := range perImage {
			var diffID digest.Digest
			d, err := w.put(imgspecv1.MediaTypeImageLayerGzip, func(out io.Writer) error {
				var err error
				diffID, err = gzipLayer(out, uint64(img*perImage+i), layerSize)
				return err
			})
			if err != nil {
				return err
			}
			descs, diffIDs = append(descs, d), append(diffIDs, diffID)
		}
		if err := w.putImage("img"+strconv.Itoa(img), descs, diffIDs); err != nil {
			return err
		}
	}
	return w.writeIndex()
}
