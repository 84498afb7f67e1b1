package simplesign_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ocilayout/ocilayout/layout"
	"github.com/ocilayout/ocilayout/simplesign"
	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/signature"
)

// writeKey writes a new armored OpenPGP secret key to dir and returns its path.
func writeKey(dir string) string {
	e, err := openpgp.NewEntity("Example Signer", "", "signer@example.com", nil)
	if err != nil {
		log.Fatal(err)
	}
	var buf bytes.Buffer
	w, _ := armor.Encode(&buf, openpgp.PrivateKeyType, nil)
	if err := e.SerializePrivate(w, nil); err != nil {
		log.Fatal(err)
	}
	w.Close()
	p := filepath.Join(dir, "signer.asc")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		log.Fatal(err)
	}
	return p
}

// Signing an image in a layout with an OpenPGP key, no gpg needed, and
// reading the signature back: the bytes are containers/image's own format.
func ExampleSign() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "simplesign-example-")
	defer os.RemoveAll(dir)
	l, err := layout.Create(filepath.Join(dir, "images"))
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	put := func(mt string, data []byte) imgspecv1.Descriptor {
		d, n, err := l.PutBlob(ctx, bytes.NewReader(data), digest.FromBytes(data), int64(len(data)))
		if err != nil {
			log.Fatal(err)
		}
		return imgspecv1.Descriptor{MediaType: mt, Digest: d, Size: n}
	}
	m, _ := json.Marshal(imgspecv1.Manifest{Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageManifest,
		Config: put(imgspecv1.MediaTypeImageConfig, []byte(`{"os":"linux","architecture":"amd64"}`)), Layers: []imgspecv1.Descriptor{}})
	img := put(imgspecv1.MediaTypeImageManifest, m)
	_ = l.Update(ctx, func(tx *layout.IndexTx) error { return tx.Tag(img, "registry.example.com/ns/app:v1") })

	signer, err := simplesign.LoadKey(writeKey(dir), "")
	if err != nil {
		log.Fatal(err)
	}
	sel, _ := layout.ParseSelector("registry.example.com/ns/app:v1")
	signed, err := simplesign.Sign(ctx, l, sel, signer, "registry.example.com/ns/app:v1")
	if err != nil {
		log.Fatal(err)
	}
	sigs, err := simplesign.Signatures(ctx, l, signed)
	if err != nil {
		log.Fatal(err)
	}
	info, err := signature.GetUntrustedSignatureInformationWithoutVerifying(sigs[0])
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(signed == img.Digest, len(sigs), info.UntrustedDockerReference, info.UntrustedDockerManifestDigest == img.Digest)
	// Output: true 1 registry.example.com/ns/app:v1 true
}
