package dockerstorage

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/docker/reference"
)

// graphDrivers maps the storage drivers whose layer directories we know to
// the directory, relative to ROOT, holding a layer's files by cache ID.
// Other drivers (btrfs, zfs, devicemapper) keep layers in subvolumes or
// block devices that would need mounting, which a read-only reader cannot.
var graphDrivers = map[string]func(cacheID string) string{
	"overlay2": func(id string) string { return path.Join("overlay2", id, "diff") },
	"vfs":      func(id string) string { return path.Join("vfs", "dir", id) },
}

// graphStore is the image store of one storage driver, image/<driver>/.
type graphStore struct {
	root   *os.Root
	driver string
	// names maps each normalized name in repositories.json (NAME:TAG or
	// NAME@DIGEST) to its image ID.
	names map[string]digest.Digest
}

func (g *graphStore) dir() string { return path.Join("image", g.driver) }

// openGraph reads image/<driver>/repositories.json. A driver directory
// with no repositories.json (a store that never tagged anything) has no
// names but may still hold images by ID.
func openGraph(root *os.Root, driver string) (*graphStore, error) {
	g := &graphStore{root: root, driver: driver, names: map[string]digest.Digest{}}
	data, err := readFile(root, path.Join(g.dir(), "repositories.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return g, nil
	}
	if err != nil {
		return nil, err
	}
	// Docker writes familiar names ("nginx", "nginx:latest"); normalize
	// them so that they compare with parsed references.
	var repos struct {
		Repositories map[string]map[string]digest.Digest
	}
	if err := json.Unmarshal(data, &repos); err != nil {
		return nil, fmt.Errorf("parsing %s/repositories.json: %w", g.dir(), err)
	}
	for _, refs := range repos.Repositories {
		for name, id := range refs {
			named, err := reference.ParseNormalizedNamed(name)
			if err != nil {
				return nil, fmt.Errorf("parsing name %q in %s/repositories.json: %w", name, g.dir(), err)
			}
			g.names[named.String()] = id
		}
	}
	return g, nil
}

// imageIDs lists the IDs of every image in imagedb, sorted.
func (g *graphStore) imageIDs() ([]digest.Digest, error) {
	dir := path.Join(g.dir(), "imagedb", "content", "sha256")
	entries, err := fs.ReadDir(g.root.FS(), dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing images in %s: %w", dir, err)
	}
	var ids []digest.Digest
	for _, e := range entries {
		id := digest.NewDigestFromEncoded(digest.SHA256, e.Name())
		if id.Validate() == nil && e.Type().IsRegular() {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// hasImage says whether imagedb holds id.
func (g *graphStore) hasImage(id digest.Digest) bool {
	_, err := g.root.Stat(g.configPath(id))
	return err == nil
}

func (g *graphStore) configPath(id digest.Digest) string {
	return path.Join(g.dir(), "imagedb", "content", id.Algorithm().String(), id.Encoded())
}

// config returns the image's config, checked to hash to id: in this store
// the image ID is the config digest, so the bytes are exactly the blob
// the image's manifests were built over.
func (g *graphStore) config(id digest.Digest) ([]byte, error) {
	if err := id.Validate(); err != nil {
		return nil, err
	}
	data, err := readFile(g.root, g.configPath(id))
	if err != nil {
		return nil, fmt.Errorf("reading the config of image %s: %w", id, err)
	}
	if got := id.Algorithm().FromBytes(data); got != id {
		return nil, fmt.Errorf("config of image %s in %s hashes to %s: the image store is damaged", id, g.configPath(id), got)
	}
	return data, nil
}

// diffIDs extracts rootfs.diff_ids from a config.
func diffIDs(id digest.Digest, config []byte) ([]digest.Digest, error) {
	var c struct {
		RootFS struct {
			Type    string          `json:"type"`
			DiffIDs []digest.Digest `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := json.Unmarshal(config, &c); err != nil {
		return nil, fmt.Errorf("parsing the config of image %s: %w", id, err)
	}
	for _, d := range c.RootFS.DiffIDs {
		if err := d.Validate(); err != nil {
			return nil, fmt.Errorf("config of image %s: DiffID %q: %w", id, d, err)
		}
	}
	return c.RootFS.DiffIDs, nil
}

// chainIDs computes the layer chain IDs the layer store is keyed by, as
// the image spec defines them: ChainID(L0) = DiffID(L0), ChainID(Ln) =
// sha256(ChainID(Ln-1) + " " + DiffID(Ln)).
func chainIDs(diffIDs []digest.Digest) []digest.Digest {
	out := make([]digest.Digest, len(diffIDs))
	for i, d := range diffIDs {
		if i == 0 {
			out[i] = d
			continue
		}
		out[i] = digest.FromString(out[i-1].String() + " " + d.String())
	}
	return out
}

// layers resolves every layer of an image in the layer store. It checks
// what can be checked without reading the layer's files: the layer exists
// with the DiffID the config expects, its directory is there, its
// tar-split metadata is readable (that gives the tar's length).
func (g *graphStore) layers(id digest.Digest, config []byte) ([]graphLayer, error) {
	dirOf, ok := graphDrivers[g.driver]
	if !ok {
		return nil, fmt.Errorf("image %s is in a %s store: only %s layers can be read without mounting them", id, g.driver, strings.Join(supportedDrivers(), " and "))
	}
	diffs, err := diffIDs(id, config)
	if err != nil {
		return nil, err
	}
	chains := chainIDs(diffs)
	out := make([]graphLayer, len(diffs))
	for i := range diffs {
		meta := path.Join(g.dir(), "layerdb", chains[i].Algorithm().String(), chains[i].Encoded())
		l := graphLayer{diffID: diffs[i], chainID: chains[i], tarSplit: path.Join(meta, "tar-split.json.gz")}
		recorded, err := readFile(g.root, path.Join(meta, "diff"))
		if err != nil {
			return nil, fmt.Errorf("image %s: %s is not in the layer store: %w", id, l, err)
		}
		if strings.TrimSpace(string(recorded)) != diffs[i].String() {
			return nil, fmt.Errorf("image %s: %s: the layer store records DiffID %q", id, l, recorded)
		}
		cacheID, err := readFile(g.root, path.Join(meta, "cache-id"))
		if err != nil {
			return nil, fmt.Errorf("image %s: %s: %w", id, l, err)
		}
		l.cacheID = strings.TrimSpace(string(cacheID))
		if l.cacheID == "" || strings.ContainsAny(l.cacheID, "/.") {
			return nil, fmt.Errorf("image %s: %s: invalid cache-id %q", id, l, cacheID)
		}
		l.dir = dirOf(l.cacheID)
		if fi, err := g.root.Stat(l.dir); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("image %s: the %s directory %s of %s is missing: %v", id, g.driver, l.dir, l, err)
		}
		if l.size, err = tarSplitSize(g.root, l); err != nil {
			return nil, fmt.Errorf("image %s: %w", id, err)
		}
		out[i] = l
	}
	return out, nil
}

// diskSize is the image's size as docker images reports it: the sum of
// the size files of its layers (file contents, not tar streams).
func (g *graphStore) diskSize(id digest.Digest) (int64, error) {
	config, err := g.config(id)
	if err != nil {
		return 0, err
	}
	diffs, err := diffIDs(id, config)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, c := range chainIDs(diffs) {
		p := path.Join(g.dir(), "layerdb", c.Algorithm().String(), c.Encoded(), "size")
		data, err := readFile(g.root, p)
		if err != nil {
			return 0, fmt.Errorf("image %s: size of layer %s: %w", id, c, err)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("image %s: parsing %s: %w", id, p, err)
		}
		total += n
	}
	return total, nil
}

func supportedDrivers() []string {
	var ds []string
	for d := range graphDrivers {
		ds = append(ds, d)
	}
	sort.Strings(ds)
	return ds
}

// readFile reads a small metadata file through root (read-only).
func readFile(root *os.Root, name string) ([]byte, error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}
