package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/distribution/distribution/v3"
	_ "github.com/distribution/distribution/v3/manifest/ocischema" // registers the manifest types UnmarshalManifest reads
	_ "github.com/distribution/distribution/v3/manifest/schema2"
	"github.com/distribution/distribution/v3/registry/storage"
	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/distribution/v3/registry/storage/driver/factory"
	"github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	"github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// genSpec is what the registry subcommand generates before serving.
type genSpec struct {
	repo        string
	tags, repos int
	distinct    bool
	schema2     bool
}

// sharedDriverName is a storage driver whose every Create returns the one
// driver populate filled: handlers.NewApp makes its driver from the
// configuration, and an in-memory driver it made would be empty.
const sharedDriverName = "ocilayout-bench-shared"

var shared sharedFactory

type sharedFactory struct{ driver storagedriver.StorageDriver }

func (f *sharedFactory) Create(context.Context, map[string]any) (storagedriver.StorageDriver, error) {
	return f.driver, nil
}

func init() { factory.Register(sharedDriverName, &shared) }

// populate writes g's images through distribution's storage API (no
// HTTP), into the filesystem driver at root or a new in-memory driver,
// and returns the driver. Tag tN of a distinct repository is an image of
// one 1 KiB layer seeded by N (and the repository); otherwise all tags of
// a repository name one image.
func populate(ctx context.Context, root string, g genSpec) (storagedriver.StorageDriver, error) {
	var d storagedriver.StorageDriver = inmemory.New()
	if root != "" {
		d = filesystem.New(filesystem.DriverParameters{RootDirectory: root, MaxThreads: 100})
	}
	ns, err := storage.NewRegistry(ctx, d)
	if err != nil {
		return nil, err
	}
	for r := range g.repos {
		name := g.repo
		if g.repos > 1 {
			name = fmt.Sprintf(g.repo, r)
		}
		named, err := reference.WithName(name)
		if err != nil {
			return nil, err
		}
		repo, err := ns.Repository(ctx, named)
		if err != nil {
			return nil, err
		}
		var desc imgspecv1.Descriptor
		for t := range g.tags {
			if t == 0 || g.distinct {
				if desc, err = putGenImage(ctx, repo, uint64(r)<<32|uint64(t), g.schema2); err != nil {
					return nil, fmt.Errorf("%s: %w", name, err)
				}
			}
			if err := repo.Tags(ctx).Tag(ctx, "t"+strconv.Itoa(t), desc); err != nil {
				return nil, fmt.Errorf("tagging %s:t%d: %w", name, t, err)
			}
		}
	}
	return d, nil
}

// putGenImage stores one image (a 1 KiB gzip layer from seed, its config
// and manifest) in repo and returns the manifest's descriptor.
func putGenImage(ctx context.Context, repo distribution.Repository, seed uint64, schema2 bool) (imgspecv1.Descriptor, error) {
	var layer bytes.Buffer
	diffID, err := gzipLayer(&layer, seed, 1024)
	if err != nil {
		return imgspecv1.Descriptor{}, err
	}
	cfg, _ := json.Marshal(imgspecv1.Image{
		Platform: imgspecv1.Platform{OS: "linux", Architecture: "amd64"},
		RootFS:   imgspecv1.RootFS{Type: "layers", DiffIDs: []digest.Digest{diffID}},
	})
	mt, cfgType, layerType := imgspecv1.MediaTypeImageManifest, imgspecv1.MediaTypeImageConfig, imgspecv1.MediaTypeImageLayerGzip
	if schema2 {
		mt = "application/vnd.docker.distribution.manifest.v2+json"
		cfgType = "application/vnd.docker.container.image.v1+json"
		layerType = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	}
	bs := repo.Blobs(ctx)
	ld, err := bs.Put(ctx, layerType, layer.Bytes())
	if err != nil {
		return imgspecv1.Descriptor{}, err
	}
	cd, err := bs.Put(ctx, cfgType, cfg)
	if err != nil {
		return imgspecv1.Descriptor{}, err
	}
	ld.MediaType, cd.MediaType = layerType, cfgType
	raw, _ := json.Marshal(imgspecv1.Manifest{Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: mt, Config: cd, Layers: []imgspecv1.Descriptor{ld}})
	m, _, err := distribution.UnmarshalManifest(mt, raw)
	if err != nil {
		return imgspecv1.Descriptor{}, err
	}
	ms, err := repo.Manifests(ctx)
	if err != nil {
		return imgspecv1.Descriptor{}, err
	}
	md, err := ms.Put(ctx, m)
	if err != nil {
		return imgspecv1.Descriptor{}, err
	}
	return imgspecv1.Descriptor{MediaType: mt, Digest: md, Size: int64(len(raw))}, nil
}

// requests prints the request counts of a registry served with -count,
// "KIND COUNT" a line and "total N" last; -reset zeroes them after.
func requests(args []string) error {
	fs := newFlags("requests")
	addr := fs.String("addr", "", "HOST:PORT of the registry")
	reset := fs.Bool("reset", false, "zero the counts (after printing them)")
	_ = fs.Parse(args)
	resp, err := http.Get("http://" + *addr + "/ocilayout-bench/requests")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	counts := map[string]int{}
	if err := json.NewDecoder(resp.Body).Decode(&counts); err != nil {
		return fmt.Errorf("reading the counts of %s: %w", *addr, err)
	}
	for _, k := range sortedKeys(counts) {
		if k != "total" {
			fmt.Printf("%s %d\n", strings.ReplaceAll(k, " ", "-"), counts[k])
		}
	}
	fmt.Printf("total %d\n", counts["total"])
	if *reset {
		r, err := http.Post("http://"+*addr+"/ocilayout-bench/requests/reset", "", nil)
		if err != nil {
			return err
		}
		r.Body.Close()
	}
	return nil
}
