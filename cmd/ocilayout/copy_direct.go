package main

import (
	"context"
	"errors"
	"io"

	"github.com/ocilayout/ocilayout/registrycopy"
	"github.com/sirupsen/logrus"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/types"
)

// copyDirectOrImage copies between a registry and a layout through
// registrycopy's direct route when it applies (nothing to convert, no
// signatures to carry: the same image, faster), and through copyImage
// otherwise, with bound applied to its options first (copy.Image's
// compressors' memory). The direct route enforces pc itself and writes
// nothing before it knows it applies.
func copyDirectOrImage(ctx context.Context, pc *signature.PolicyContext, dest, src types.ImageReference, o *copy.Options, report io.Writer, bound func(*copy.Options)) ([]byte, error) {
	m, err := registrycopy.Copy(ctx, pc, dest, src, o)
	if !errors.Is(err, registrycopy.ErrNotApplicable) {
		return m, err
	}
	logrus.Debugf("Copying through copy.Image: %v", err)
	bounded := *o
	bound(&bounded)
	return copyImage(ctx, pc, dest, src, &bounded, report)
}
