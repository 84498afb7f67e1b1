package dockerstorage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	bolt "go.etcd.io/bbolt"
	"go.podman.io/image/v5/docker/reference"
)

// containerdMetaDB is where a Docker Engine's managed containerd keeps its
// metadata, relative to the Docker root; a standalone containerd (whose
// root, /var/lib/containerd, Docker Engine uses with the containerd image
// store) keeps it directly under its root.
const containerdMetaDB = "containerd/daemon/io.containerd.metadata.v1.bolt/meta.db"

// containerdNamespace is the containerd namespace Docker Engine keeps its
// images in (dockerd --containerd-namespace).
const containerdNamespace = "moby"

// containerdRoots are the places, relative to ROOT, a containerd root is
// looked for: Docker's managed containerd, then ROOT itself.
var containerdRoots = []string{"containerd/daemon", "."}

// containerdImage is one image record of containerd's metadata.
type containerdImage struct {
	name   string // normalized
	target imgspecv1.Descriptor
}

// containerdStore is containerd's image metadata (read once, into memory)
// and its content store, under dir relative to ROOT.
type containerdStore struct {
	root   *os.Root
	dir    string
	images []containerdImage // sorted by name
}

// openContainerd finds and reads containerd's metadata database. The
// database is copied to a private temp file and opened there: bbolt takes
// a flock even on a read-only open and may write to its file, and the
// store must not be locked or written. No containerd store is (nil, nil).
func openContainerd(root *os.Root) (*containerdStore, error) {
	for _, dir := range containerdRoots {
		db := path.Join(dir, "io.containerd.metadata.v1.bolt", "meta.db")
		f, err := root.Open(db)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("opening containerd metadata %s: %w", db, err)
		}
		images, err := readContainerdImages(f, db)
		f.Close()
		if err != nil {
			return nil, err
		}
		return &containerdStore{root: root, dir: dir, images: images}, nil
	}
	return nil, nil
}

func readContainerdImages(f *os.File, name string) ([]containerdImage, error) {
	tmp, err := os.CreateTemp("", "docker-storage-meta-*.db")
	if err != nil {
		return nil, fmt.Errorf("copying containerd metadata %s: %w", name, err)
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, f)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("copying containerd metadata %s: %w", name, err)
	}
	db, err := bolt.Open(tmp.Name(), 0o400, &bolt.Options{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("opening containerd metadata %s: %w", name, err)
	}
	defer db.Close()
	var images []containerdImage
	err = db.View(func(tx *bolt.Tx) error {
		ns := bucket(tx, "v1", containerdNamespace, "images")
		if ns == nil {
			return nil
		}
		return ns.ForEachBucket(func(k []byte) error {
			img, err := containerdRecord(string(k), ns.Bucket(k))
			if err != nil {
				return err
			}
			images = append(images, img)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("reading containerd metadata %s: %w", name, err)
	}
	sort.Slice(images, func(i, j int) bool { return images[i].name < images[j].name })
	return images, nil
}

// bucket walks nested buckets; nil when one is missing.
func bucket(tx *bolt.Tx, names ...string) *bolt.Bucket {
	b := tx.Bucket([]byte(names[0]))
	for _, n := range names[1:] {
		if b == nil {
			return nil
		}
		b = b.Bucket([]byte(n))
	}
	return b
}

// containerdRecord decodes v1/<ns>/images/<name>: its target descriptor,
// whose size containerd stores as a varint.
func containerdRecord(name string, b *bolt.Bucket) (containerdImage, error) {
	t := b.Bucket([]byte("target"))
	if t == nil {
		return containerdImage{}, fmt.Errorf("image %q has no target", name)
	}
	d, err := digest.Parse(string(t.Get([]byte("digest"))))
	if err != nil {
		return containerdImage{}, fmt.Errorf("image %q: target digest: %w", name, err)
	}
	size, n := binary.Varint(t.Get([]byte("size")))
	if n <= 0 || size < 0 {
		return containerdImage{}, fmt.Errorf("image %q: invalid target size", name)
	}
	// Docker records an image that lost its last name as
	// "moby-dangling@sha256:..."; that and names that do not parse are no
	// names: such images are reachable by ID only.
	norm := ""
	if named, err := reference.ParseNormalizedNamed(name); err == nil && !strings.HasPrefix(name, "moby-dangling@") {
		norm = named.String()
	}
	return containerdImage{name: norm, target: imgspecv1.Descriptor{
		MediaType: string(t.Get([]byte("mediatype"))), Digest: d, Size: size,
	}}, nil
}

// Close releases nothing: the database was read at open and is closed.
func (c *containerdStore) Close() error { return nil }

// lookup finds an image by normalized name or by ID (its target digest).
func (c *containerdStore) lookup(ref storageReference) (*containerdImage, bool) {
	for i := range c.images {
		img := &c.images[i]
		if ref.named != nil && img.name == ref.named.String() {
			return img, true
		}
		if ref.id != "" && img.target.Digest == ref.id {
			return img, true
		}
	}
	return nil, false
}

// blobPath is where the content store keeps d.
func (c *containerdStore) blobPath(d digest.Digest) string {
	return path.Join(c.dir, "io.containerd.content.v1.content", "blobs", d.Algorithm().String(), d.Encoded())
}

// readBlob reads a small blob (a manifest, an index, a config) whole and
// checks it against desc.
func (c *containerdStore) readBlob(desc imgspecv1.Descriptor) ([]byte, error) {
	if err := desc.Digest.Validate(); err != nil {
		return nil, err
	}
	data, err := readFile(c.root, c.blobPath(desc.Digest))
	if err != nil {
		return nil, fmt.Errorf("reading blob %s from the containerd content store: %w", desc.Digest, err)
	}
	if desc.Size >= 0 && int64(len(data)) != desc.Size {
		return nil, fmt.Errorf("blob %s in the containerd content store has %d bytes, not %d", desc.Digest, len(data), desc.Size)
	}
	if got := desc.Digest.Algorithm().FromBytes(data); got != desc.Digest {
		return nil, fmt.Errorf("blob %s in the containerd content store hashes to %s", desc.Digest, got)
	}
	return data, nil
}
