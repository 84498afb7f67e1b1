package mirror

import (
	"context"
	"fmt"

	"github.com/ocilayout/ocilayout/dockerstorage"
	dockerref "go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/types"
)

// addDockerStorage plans every named image of the Docker Engine store at
// s.DockerStorage (read without the daemon, as docker-storage: reads it),
// each of its NAME:TAG names an image, named in the destination as a
// registry image of that name would be. Names by digest (a pull by
// digest) and dangling images are left: nothing names them. The store
// has no digest to compare without reading: an image is compared by the
// digest of the manifest its source reads (see heads.digest).
func (p *plan) addDockerStorage(ctx context.Context, s Source) error {
	images, err := dockerstorage.List(ctx, s.DockerStorage)
	if err != nil {
		return err
	}
	from := &origin{sys: s.Sys, label: "docker-storage:" + s.DockerStorage + ":", storage: s.DockerStorage}
	for _, img := range images {
		for _, name := range img.Names {
			named, err := dockerref.ParseNormalizedNamed(name)
			if err != nil {
				continue
			}
			tagged, ok := named.(dockerref.NamedTagged)
			if !ok || s.Filter != nil && !s.Filter(tagged.Tag()) {
				continue
			}
			n := nameOfDocker(tagged)
			it := newItem(from, name, n)
			if _, err = dockerStorageRef(s.DockerStorage, name); err != nil {
				err = fmt.Errorf("%s: %w", it.source(), err)
			}
			p.addItem(it, n, err)
		}
	}
	return nil
}

// dockerStorageRef is the docker-storage: reference of NAME:TAG in the
// store at root.
func dockerStorageRef(root, name string) (types.ImageReference, error) {
	named, err := dockerref.ParseNormalizedNamed(name)
	if err != nil {
		return nil, err
	}
	tagged, ok := named.(dockerref.NamedTagged)
	if !ok {
		return nil, fmt.Errorf("%s has no tag", name)
	}
	return dockerstorage.NewReference(root, tagged, "")
}
