// Command mkimage builds the demo's sample image from demo/rootfs and
// demo/config.json and writes it as a containers/image dir: directory.
//
// It writes the files itself, without containers/image, so that the demo's
// first ocilayout copy reads an image no part of this project produced.
// The output is reproducible: entries are sorted, owned by 0:0 with fixed
// modes and mtimes, and gzip carries no name or time, so running it twice
// yields the same digests (which is what makes "make demo" idempotent).
//
// Usage: go run ./demo/mkimage -rootfs demo/rootfs -config demo/config.json -out DIR
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	_ "crypto/sha256" // registers sha256 for go-digest
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// epoch is the mtime of every file in the layer (SOURCE_DATE_EPOCH style).
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func main() {
	rootfs := flag.String("rootfs", "demo/rootfs", "directory whose contents become the single layer")
	configPath := flag.String("config", "demo/config.json", "image configuration (without rootfs/history, which are filled in)")
	out := flag.String("out", "", "dir: directory to write (replaced if it exists)")
	flag.Parse()
	if *out == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: mkimage [-rootfs DIR] [-config FILE] -out DIR")
		os.Exit(2)
	}
	d, err := build(*rootfs, *configPath, *out)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mkimage: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(d)
}

// build writes the image and returns its manifest digest.
func build(rootfs, configPath, out string) (digest.Digest, error) {
	tarBytes, err := tarDir(rootfs)
	if err != nil {
		return "", err
	}
	layer, err := gzipBytes(tarBytes)
	if err != nil {
		return "", err
	}

	var config imgspecv1.Image
	cb, err := os.ReadFile(configPath)
	if err != nil {
		return "", err
	}
	if err := json.Unmarshal(cb, &config); err != nil {
		return "", fmt.Errorf("parsing %s: %w", configPath, err)
	}
	config.RootFS = imgspecv1.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromBytes(tarBytes)}}
	config.History = []imgspecv1.History{{Created: &epoch, CreatedBy: "demo/mkimage " + filepath.ToSlash(rootfs)}}
	configBytes, err := json.Marshal(config)
	if err != nil {
		return "", err
	}

	m := imgspecv1.Manifest{
		Versioned: imgspec.Versioned{SchemaVersion: 2},
		MediaType: imgspecv1.MediaTypeImageManifest,
		Config:    descriptor(imgspecv1.MediaTypeImageConfig, configBytes),
		Layers:    []imgspecv1.Descriptor{descriptor(imgspecv1.MediaTypeImageLayerGzip, layer)},
	}
	manifestBytes, err := json.Marshal(m)
	if err != nil {
		return "", err
	}

	// Replace rather than update: a stale blob from an earlier run must not
	// survive next to a new manifest.
	if err := os.RemoveAll(out); err != nil {
		return "", err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	files := map[string][]byte{
		"version":                               []byte("Directory Transport Version: 1.1\n"),
		"manifest.json":                         manifestBytes,
		digest.FromBytes(configBytes).Encoded(): configBytes,
		digest.FromBytes(layer).Encoded():       layer,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(out, name), data, 0o644); err != nil {
			return "", err
		}
	}
	return digest.FromBytes(manifestBytes), nil
}

func descriptor(mediaType string, data []byte) imgspecv1.Descriptor {
	return imgspecv1.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}
}

// tarDir archives the tree under root with normalised metadata.
func tarDir(root string) ([]byte, error) {
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range paths {
		fi, err := os.Lstat(p)
		if err != nil {
			return nil, err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return nil, err
		}
		hdr := &tar.Header{Name: filepath.ToSlash(rel), ModTime: epoch, Format: tar.FormatPAX}
		switch {
		case fi.IsDir():
			hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, hdr.Name+"/", 0o755
		case fi.Mode().IsRegular():
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, 0o644, fi.Size()
		default:
			return nil, fmt.Errorf("%s: only directories and regular files are supported", p)
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if hdr.Typeflag == tar.TypeReg {
			f, err := os.Open(p)
			if err != nil {
				return nil, err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			if err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// gzipBytes compresses b with an empty gzip header (no name, no mtime).
func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
