package layout

import (
	"context"
	"errors"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Entry is one top-level entry of index.json, as List reports it.
type Entry struct {
	Name        string              `json:"name"`
	Digest      digest.Digest       `json:"digest"`
	MediaType   string              `json:"mediaType"`
	Size        int64               `json:"size"`
	Platform    *imgspecv1.Platform `json:"platform,omitempty"`
	Annotations map[string]string   `json:"annotations,omitempty"`
}

// Option configures Open and Create.
type Option func(*options)

type options struct {
	sharedBlobDir string
}

// WithSharedBlobDir stores and looks up blobs in dir (laid out as ALG/HEX)
// instead of the layout's blobs/ directory.
func WithSharedBlobDir(dir string) Option { return func(o *options) { o.sharedBlobDir = dir } }

// Layout is an open OCI image layout.
type Layout struct{ dir string }

// Open opens the existing layout at dir for reading.
func Open(dir string, opts ...Option) (*Layout, error) { return nil, errors.New("todo") }

// Close releases the layout's file handles.
func (l *Layout) Close() error { return nil }

// List returns the entries of index.json in order.
func (l *Layout) List(ctx context.Context) ([]Entry, error) { return nil, errors.New("todo") }

// DeleteImage removes the entry sel selects from the layout at dir and
// reclaims the blobs nothing else reaches.
func DeleteImage(ctx context.Context, dir string, sel Selector, opts ...Option) error {
	return errors.New("delete: not implemented yet")
}
