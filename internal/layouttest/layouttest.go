// Package layouttest has the shortcuts tests of other packages take to set
// up and look at a layout: one call where the engine's API takes a
// transaction or a decode. It is for tests only.
package layouttest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/ocilayout/ocilayout/layout"
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// PutBytes stores data as a blob of l and returns its digest.
func PutBytes(l *layout.Layout, ctx context.Context, data []byte) (digest.Digest, error) {
	d, _, err := l.PutBlob(ctx, bytes.NewReader(data), digest.FromBytes(data), int64(len(data)))
	return d, err
}

// Tag records desc under name ("" for untagged) in one transaction.
func Tag(l *layout.Layout, ctx context.Context, desc imgspecv1.Descriptor, name string) error {
	return l.Update(ctx, func(tx *layout.IndexTx) error { return tx.Tag(desc, name) })
}

// Entry is one index.json entry as tests look at it.
type Entry struct {
	Name        string
	Digest      digest.Digest
	MediaType   string
	Size        int64
	Platform    *imgspecv1.Platform
	Annotations map[string]string
}

// List returns the entries of index.json in order.
func List(l *layout.Layout, ctx context.Context) ([]Entry, error) {
	idx, err := l.Index(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(idx.Manifests))
	for _, d := range idx.Manifests {
		out = append(out, Entry{Name: d.Annotations[imgspecv1.AnnotationRefName], Digest: d.Digest, MediaType: d.MediaType, Size: d.Size, Platform: d.Platform, Annotations: d.Annotations})
	}
	return out, nil
}

// ReadManifest reads and verifies the image manifest desc names.
func ReadManifest(l *layout.Layout, ctx context.Context, desc imgspecv1.Descriptor) (*imgspecv1.Manifest, error) {
	var m imgspecv1.Manifest
	return &m, read(l, ctx, desc, &m)
}

// ReadIndex reads and verifies the index desc names.
func ReadIndex(l *layout.Layout, ctx context.Context, desc imgspecv1.Descriptor) (*imgspecv1.Index, error) {
	var idx imgspecv1.Index
	return &idx, read(l, ctx, desc, &idx)
}

func read(l *layout.Layout, ctx context.Context, desc imgspecv1.Descriptor, v any) error {
	data, err := l.ReadBlob(ctx, desc.Digest, desc.Size)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("parsing %s: %w", desc.Digest, err)
	}
	return nil
}

// IsIndex reports whether t is an OCI index or Docker manifest list.
func IsIndex(t string) bool {
	return t == imgspecv1.MediaTypeImageIndex || t == "application/vnd.docker.distribution.manifest.list.v2+json"
}
