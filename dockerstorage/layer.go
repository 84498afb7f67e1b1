package dockerstorage

import (
	"compress/gzip"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"

	"github.com/opencontainers/go-digest"
	"github.com/vbatts/tar-split/tar/asm"
	"github.com/vbatts/tar-split/tar/storage"
)

// graphLayer is one layer of a graph-driver image: where its tar-split
// metadata and its files are, relative to ROOT, and what it must hash to.
type graphLayer struct {
	diffID   digest.Digest
	chainID  digest.Digest
	cacheID  string
	tarSplit string // layerdb/sha256/<chain-id>/tar-split.json.gz
	dir      string // the driver's directory holding the layer's files
	size     int64  // length of the reassembled tar stream
}

func (l graphLayer) String() string {
	return fmt.Sprintf("layer %s (chain ID %s, cache ID %s)", l.diffID, l.chainID, l.cacheID)
}

// rootFileGetter serves the payloads tar-split asks for from the layer's
// directory, through an os.Root on it: a symlink in the layer can neither
// lead a read out of the layer nor make us open anything for writing.
type rootFileGetter struct{ dir *os.Root }

func (g rootFileGetter) Get(name string) (io.ReadCloser, error) {
	rel := path.Clean("/" + name)[1:]
	if rel == "" {
		rel = "."
	}
	return g.dir.Open(rel)
}

// openTarSplit opens a layer's tar-split.json.gz for reading; closing the
// result closes the file too.
func openTarSplit(root *os.Root, l graphLayer) (storage.Unpacker, io.Closer, error) {
	f, err := root.Open(l.tarSplit)
	if err != nil {
		return nil, nil, fmt.Errorf("opening the tar-split metadata of %s: %w", l, err)
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("reading the tar-split metadata %s of %s: %w", l.tarSplit, l, err)
	}
	return storage.NewJSONUnpacker(zr), closers{zr, f}, nil
}

type closers []io.Closer

func (cs closers) Close() error {
	var errs []error
	for _, c := range cs {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// tarSplitSize returns the length of the tar stream l's metadata describes:
// its raw header and padding segments plus every file's payload size. No
// file of the layer is read.
func tarSplitSize(root *os.Root, l graphLayer) (int64, error) {
	up, c, err := openTarSplit(root, l)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	var n int64
	for {
		e, err := up.Next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, fmt.Errorf("reading the tar-split metadata %s of %s: %w", l.tarSplit, l, err)
		}
		switch e.Type {
		case storage.SegmentType:
			n += int64(len(e.Payload))
		case storage.FileType:
			n += e.Size
		}
	}
}

// openLayer streams l's tar as Docker first received it: tar-split replays
// the recorded headers and padding and fills in file contents from the
// layer's directory (the same reassembly as moby's layer store). Whiteouts
// and hard links are empty entries in the metadata, so the driver's own
// representation of them is never read. The stream is hashed as it is
// served; its end is an error unless it has exactly l.size bytes and
// hashes to l.diffID, so a changed file or damaged metadata can never pass
// as the layer.
func openLayer(root *os.Root, l graphLayer) (io.ReadCloser, error) {
	dir, err := root.OpenRoot(l.dir)
	if err != nil {
		return nil, fmt.Errorf("opening the files of %s: %w", l, err)
	}
	up, c, err := openTarSplit(root, l)
	if err != nil {
		dir.Close()
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() {
		err := asm.WriteOutputTarStream(rootFileGetter{dir}, up, pw)
		c.Close()
		dir.Close()
		if err != nil {
			err = fmt.Errorf("reassembling %s from %s and %s: %w", l, l.tarSplit, l.dir, err)
		}
		pw.CloseWithError(err)
	}()
	return &verifyingReader{r: pr, closer: pr, layer: l, hash: l.diffID.Algorithm().Hash()}, nil
}

// verifyingReader checks size and digest of a reassembled layer at EOF.
type verifyingReader struct {
	r      io.Reader
	closer io.Closer
	layer  graphLayer
	hash   hash.Hash
	n      int64
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.n += int64(n)
	v.hash.Write(p[:n])
	if v.n > v.layer.size {
		return n, fmt.Errorf("%s: reassembled tar is longer than the %d bytes its metadata describes", v.layer, v.layer.size)
	}
	if err == io.EOF {
		if v.n != v.layer.size {
			return n, fmt.Errorf("%s: reassembled tar has %d bytes, its metadata describes %d", v.layer, v.n, v.layer.size)
		}
		if got := digest.NewDigest(v.layer.diffID.Algorithm(), v.hash); got != v.layer.diffID {
			return n, fmt.Errorf("%s: reassembled tar hashes to %s, not to the layer's DiffID: the files under %s no longer match the layer", v.layer, got, v.layer.dir)
		}
	}
	return n, err
}

func (v *verifyingReader) Close() error { return v.closer.Close() }
