package commit

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/manifest"
	istorage "go.podman.io/image/v5/storage"
	"go.podman.io/image/v5/types"
	"go.podman.io/storage"
	"go.podman.io/storage/pkg/archive"
)

// layer is one layer of the committed image, served uncompressed: a
// store layer's diff (storeID) or the snapshot file of the container's
// diff (file).
type layer struct {
	storeID string
	file    string
	diffID  digest.Digest
	size    int64
}

// snapshot is everything the committed image is made of, fixed when the
// image source is opened: the manifest and config bytes, and where each
// layer's bytes come from.
type snapshot struct {
	manifest     []byte
	mimeType     string
	config       []byte
	configDigest digest.Digest
	layers       map[digest.Digest]layer
	diffFile     string // the container layer's diff; removed by Close
}

// takeSnapshot reads the container, its image's config and layer chain
// from the store, and copies the container layer's diff into a temp
// file (hashing it for its DiffID), so that the image does not change
// however long a copy takes. On error nothing is left behind.
func takeSnapshot(ctx context.Context, ref Reference, sys *types.SystemContext) (_ *snapshot, err error) {
	store := ref.store
	c, err := store.Container(ref.container)
	if err != nil {
		return nil, fmt.Errorf("looking up container %s in %s: %w", ref.container, store.GraphRoot(), err)
	}
	what := containerName(c)
	if err := refuseMounted(store, c, what); err != nil {
		return nil, err
	}
	chain, err := imageLayers(store, c.LayerID, what)
	if err != nil {
		return nil, err
	}
	config, err := baseConfig(ctx, store, c, sys)
	if err != nil {
		return nil, fmt.Errorf("reading the image %s of container %s: %w", c.ImageID, what, err)
	}

	top, err := diffToFile(store, c.LayerID, ref.opts.tempDir)
	if err != nil {
		return nil, fmt.Errorf("reading the changes of container %s (layer %s): %w", what, c.LayerID, err)
	}
	defer func() {
		if err != nil {
			os.Remove(top.file)
		}
	}()
	// The diff was read under the layer store's lock, which Mount needs
	// too: a second look catches a mount made just before it was taken.
	if err := refuseMounted(store, c, what); err != nil {
		return nil, err
	}
	chain = append(chain, top)

	snap := &snapshot{layers: map[digest.Digest]layer{}, diffFile: top.file}
	created := ref.opts.created
	if created.IsZero() {
		created = time.Now().UTC()
	}
	config.Created = &created
	if ref.opts.author != "" {
		config.Author = ref.opts.author
	}
	for _, ch := range ref.opts.changes {
		ch(&config.Config)
	}
	config.RootFS = imgspecv1.RootFS{Type: "layers"}
	descs := make([]imgspecv1.Descriptor, 0, len(chain))
	for _, l := range chain {
		config.RootFS.DiffIDs = append(config.RootFS.DiffIDs, l.diffID)
		descs = append(descs, imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageLayer, Digest: l.diffID, Size: l.size})
		snap.layers[l.diffID] = l
	}
	config.History = append(config.History, imgspecv1.History{
		Created:   &created,
		CreatedBy: "ocilayout commit",
		Author:    ref.opts.author,
		Comment:   ref.opts.message,
	})
	if snap.config, err = json.Marshal(config); err != nil {
		return nil, fmt.Errorf("encoding the config of container %s: %w", what, err)
	}
	snap.configDigest = digest.FromBytes(snap.config)
	if snap.manifest, snap.mimeType, err = buildManifest(ref.opts.format, snap.config, descs); err != nil {
		return nil, fmt.Errorf("building the manifest of container %s: %w", what, err)
	}
	return snap, nil
}

// buildManifest writes an OCI manifest, or a Docker schema2 one with the
// same config bytes (the two config formats share their field names, as
// containers/image's own conversion relies on) and layer types mapped.
func buildManifest(format string, config []byte, layers []imgspecv1.Descriptor) ([]byte, string, error) {
	if format == manifest.DockerV2Schema2MediaType {
		infos := make([]manifest.Schema2Descriptor, len(layers))
		for i, l := range layers {
			infos[i] = manifest.Schema2Descriptor{MediaType: manifest.DockerV2SchemaLayerMediaTypeUncompressed, Size: l.Size, Digest: l.Digest}
		}
		m := manifest.Schema2FromComponents(manifest.Schema2Descriptor{
			MediaType: manifest.DockerV2Schema2ConfigMediaType, Size: int64(len(config)), Digest: digest.FromBytes(config),
		}, infos)
		b, err := m.Serialize()
		return b, format, err
	}
	b, err := json.Marshal(imgspecv1.Manifest{
		Versioned: imgspec.Versioned{SchemaVersion: 2},
		MediaType: imgspecv1.MediaTypeImageManifest,
		Config:    imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageConfig, Digest: digest.FromBytes(config), Size: int64(len(config))},
		Layers:    layers,
	})
	return b, imgspecv1.MediaTypeImageManifest, err
}

// refuseMounted fails for a mounted container: a running container (or
// one mounted with podman mount) can change its files while its diff is
// read, which would give a layer whose content no DiffID describes.
func refuseMounted(store storage.Store, c *storage.Container, what string) error {
	n, err := store.Mounted(c.LayerID)
	if err != nil {
		return fmt.Errorf("checking whether container %s is mounted: %w", what, err)
	}
	if n > 0 {
		return fmt.Errorf("container %s is mounted (%d mount(s)): it may be running and changing its files; stop or unmount it first (podman stop, podman unmount)", what, n)
	}
	return nil
}

// imageLayers returns the parents of the container's layer, base first,
// each with the DiffID and size the store recorded when it applied it
// (store.Diff of such a layer reproduces those bytes from its tar-split).
func imageLayers(store storage.Store, top, what string) ([]layer, error) {
	t, err := store.Layer(top)
	if err != nil {
		return nil, fmt.Errorf("reading layer %s of container %s: %w", top, what, err)
	}
	var chain []layer
	for id := t.Parent; id != ""; {
		l, err := store.Layer(id)
		if err != nil {
			return nil, fmt.Errorf("reading layer %s below container %s: %w", id, what, err)
		}
		if l.UncompressedDigest == "" || l.UncompressedSize <= 0 {
			return nil, fmt.Errorf("layer %s below container %s has no recorded uncompressed digest and size", id, what)
		}
		chain = append(chain, layer{storeID: l.ID, diffID: l.UncompressedDigest, size: l.UncompressedSize})
		id = l.Parent
	}
	slices.Reverse(chain)
	return chain, nil
}

// baseConfig is the OCI form of the container's image config (a copy we
// may edit), or an empty config for this platform when the container was
// made from no image (buildah from scratch).
func baseConfig(ctx context.Context, store storage.Store, c *storage.Container, sys *types.SystemContext) (*imgspecv1.Image, error) {
	if c.ImageID == "" {
		return &imgspecv1.Image{Platform: imgspecv1.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}}, nil
	}
	ref, err := istorage.Transport.NewStoreReference(store, nil, c.ImageID)
	if err != nil {
		return nil, err
	}
	img, err := ref.NewImage(ctx, sys)
	if err != nil {
		return nil, err
	}
	defer img.Close()
	return img.OCIConfig(ctx)
}

// diffToFile streams the layer's uncompressed diff from the store into a
// temp file, hashing it on the way.
func diffToFile(store storage.Store, layerID, dir string) (_ layer, err error) {
	f, err := os.CreateTemp(dir, "ocilayout-commit-*.tar")
	if err != nil {
		return layer{}, err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	uncompressed := archive.Uncompressed
	rc, err := store.Diff("", layerID, &storage.DiffOptions{Compression: &uncompressed})
	if err != nil {
		return layer{}, err
	}
	digester := digest.Canonical.Digester()
	n, err := io.Copy(io.MultiWriter(f, digester.Hash()), rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return layer{}, err
	}
	return layer{file: f.Name(), diffID: digester.Digest(), size: n}, nil
}

// containerName is how errors name a container: its first name, and ID.
func containerName(c *storage.Container) string {
	if len(c.Names) > 0 {
		return fmt.Sprintf("%q (%.12s)", c.Names[0], c.ID)
	}
	return fmt.Sprintf("%.12s", c.ID)
}
