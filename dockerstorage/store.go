package dockerstorage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/opencontainers/go-digest"
)

// store is one Docker data root, opened read-only: the graph-driver
// stores under image/ and, when present, the containerd image store.
type store struct {
	dir    string
	root   *os.Root
	graphs []*graphStore // sorted by driver name
	ctrd   *containerdStore
}

// openStore opens dir and finds the image stores in it. Only reads happen
// here and later: os.OpenRoot opens the directory O_RDONLY, and every
// file below is opened through it, read-only.
func openStore(dir string) (*store, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("opening Docker store %s: %w", dir, err)
	}
	s := &store{dir: dir, root: root}
	entries, err := fs.ReadDir(root.FS(), "image")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		root.Close()
		return nil, fmt.Errorf("listing %s/image: %w", dir, err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		g, err := openGraph(root, e.Name())
		if err != nil {
			root.Close()
			return nil, fmt.Errorf("opening Docker store %s: %w", dir, err)
		}
		s.graphs = append(s.graphs, g)
	}
	s.ctrd, err = openContainerd(root)
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("opening Docker store %s: %w", dir, err)
	}
	if len(s.graphs) == 0 && s.ctrd == nil {
		root.Close()
		return nil, fmt.Errorf("%s holds no Docker image store: neither image/<driver>/ nor %s", dir, containerdMetaDB)
	}
	return s, nil
}

func (s *store) Close() error {
	var err error
	if s.ctrd != nil {
		err = s.ctrd.Close()
	}
	return errors.Join(err, s.root.Close())
}

// found is an image a reference resolved to: in one graph-driver store
// (graph non-nil) or in the containerd store.
type found struct {
	graph *graphStore
	ctrd  *containerdImage
	id    digest.Digest
}

// resolve finds the image ref names. Drivers are searched in name order
// and the containerd store last; a store that switched drivers keeps the
// old driver's images, which is why more than one can answer. A name that
// is nowhere is an error listing the names the store holds.
func (s *store) resolve(ref storageReference) (found, error) {
	for _, g := range s.graphs {
		if ref.id != "" && g.hasImage(ref.id) {
			return found{graph: g, id: ref.id}, nil
		}
		if ref.named != nil {
			if id, ok := g.names[ref.named.String()]; ok {
				return found{graph: g, id: id}, nil
			}
		}
	}
	if s.ctrd != nil {
		if img, ok := s.ctrd.lookup(ref); ok {
			return found{ctrd: img, id: img.target.Digest}, nil
		}
	}
	what := ref.id.String()
	if ref.named != nil {
		what = ref.named.String()
	}
	names := s.names()
	if len(names) == 0 {
		return found{}, fmt.Errorf("image %s not found in Docker store %s, which holds no named image", what, s.dir)
	}
	const show = 30
	more := ""
	if len(names) > show {
		more = fmt.Sprintf(" and %d more", len(names)-show)
		names = names[:show]
	}
	return found{}, fmt.Errorf("image %s not found in Docker store %s; it holds %s%s", what, s.dir, strings.Join(names, ", "), more)
}

// names lists every name of every store, sorted and without duplicates.
func (s *store) names() []string {
	set := map[string]bool{}
	for _, g := range s.graphs {
		for n := range g.names {
			set[n] = true
		}
	}
	if s.ctrd != nil {
		for _, img := range s.ctrd.images {
			set[img.name] = true
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Image describes one image of a Docker store, as List reports it.
type Image struct {
	// Names are the image's normalized names (NAME:TAG, or NAME@DIGEST
	// for a pull by digest), sorted; none for a dangling image.
	Names []string
	// ID is the image ID: the config digest in a graph-driver store, the
	// manifest or index digest in the containerd store. ROOT:@ID selects it.
	ID digest.Digest
	// Size is what docker images reports for a graph-driver image (the
	// sum of its layers' unpacked file sizes), and the sum of the
	// compressed blobs present for a containerd image.
	Size int64
	// Store is the graph driver ("overlay2", "vfs") or "containerd".
	Store string
}

// List returns every image in the Docker store at root ("" for
// DefaultRoot), graph-driver stores first (by driver, then ID), then the
// containerd store's images by name.
func List(ctx context.Context, root string) ([]Image, error) {
	if root == "" {
		root = DefaultRoot
	}
	s, err := openStore(root)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	var out []Image
	for _, g := range s.graphs {
		byID := map[digest.Digest][]string{}
		for n, id := range g.names {
			byID[id] = append(byID[id], n)
		}
		ids, err := g.imageIDs()
		if err != nil {
			return nil, fmt.Errorf("listing Docker store %s: %w", root, err)
		}
		for _, id := range ids {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			size, err := g.diskSize(id)
			if err != nil {
				return nil, fmt.Errorf("listing Docker store %s: %w", root, err)
			}
			names := byID[id]
			sort.Strings(names)
			out = append(out, Image{Names: names, ID: id, Size: size, Store: g.driver})
		}
	}
	if s.ctrd != nil {
		imgs, err := s.ctrd.list()
		if err != nil {
			return nil, fmt.Errorf("listing Docker store %s: %w", root, err)
		}
		out = append(out, imgs...)
	}
	return out, nil
}
