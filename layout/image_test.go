package layout

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestImageReferrersMatchLayout: for every subject and artifact type, an
// Image's referrers are the Layout's at the moment LookupImage read
// index.json (ours, another tool's fallback tag, a referrer of a
// referrer, a subject with none), and stay so after index.json changes.
func TestImageReferrersMatchLayout(t *testing.T) {
	ctx := context.Background()
	l, err := Create(filepath.Join(t.TempDir(), "l"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	app, other, plain := putTestManifest(t, l, 0), putTestManifest(t, l, 1), putTestManifest(t, l, 2)
	for name, d := range map[string]imgspecv1.Descriptor{"app": app, "other": other, "plain": plain} {
		if err := l.addManifest(ctx, d, name); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.addSignatures(ctx, app, [][]byte{[]byte("a1"), []byte("a2")}); err != nil {
		t.Fatal(err)
	}
	a3, err := l.putBytes(ctx, []byte("a3"))
	if err != nil {
		t.Fatal(err)
	}
	attached, err := l.Attach(ctx, app, sigArtifact(a3, []byte("a3")))
	if err != nil {
		t.Fatal(err)
	}
	sig := attached[0]
	// A signature of the signature: a referrer whose subject is a referrer.
	if err := l.addSignatures(ctx, sig, [][]byte{[]byte("s1")}); err != nil {
		t.Fatal(err)
	}
	// Another tool's fallback tag for other, listing an SBOM only it names.
	sbom := putTestManifest(t, l, 9)
	sbom.ArtifactType = "application/spdx+json"
	list, _ := json.Marshal(imgspecv1.Index{Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageIndex, Manifests: []imgspecv1.Descriptor{sbom}})
	ld, err := l.putBytes(ctx, list)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.addManifest(ctx, imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageIndex, Digest: ld, Size: int64(len(list))}, referrersTag(other.Digest)); err != nil {
		t.Fatal(err)
	}
	subjects := []digest.Digest{app.Digest, sig.Digest, other.Digest, plain.Digest, digest.FromString("absent")}
	types := []string{"", testSigType, "application/spdx+json"}
	want := map[string][]imgspecv1.Descriptor{}
	for _, s := range subjects {
		for _, at := range types {
			refs, err := l.Referrers(ctx, s, at)
			if err != nil {
				t.Fatal(err)
			}
			want[s.String()+at] = refs
		}
	}
	if len(want[app.Digest.String()]) != 3 || len(want[sig.Digest.String()]) != 1 || len(want[other.Digest.String()]) != 1 {
		t.Fatalf("the layout's referrers are not the ones set up: %v", want)
	}
	sel, _ := byName("app")
	im, err := l.LookupImage(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	if im.Descriptor.Digest != app.Digest {
		t.Fatalf("LookupImage(app) = %s, want %s", im.Descriptor.Digest, app.Digest)
	}
	// Changed after the read: a new signature of app, other's fallback
	// tag moved to an image.
	if err := l.addSignatures(ctx, app, [][]byte{[]byte("a4")}); err != nil {
		t.Fatal(err)
	}
	if err := l.addManifest(ctx, plain, referrersTag(other.Digest)); err != nil {
		t.Fatal(err)
	}
	if now, err := l.Referrers(ctx, other.Digest, ""); err != nil || len(now) != 0 {
		t.Fatalf("the layout's referrers of other after its tag moved = %v, %v; want none", now, err)
	}
	for _, s := range subjects {
		for _, at := range types {
			got, err := im.Referrers(ctx, s, at)
			if err != nil {
				t.Fatal(err)
			}
			if w := want[s.String()+at]; !reflect.DeepEqual(got, w) {
				t.Errorf("Referrers(%s, %q) of the Image = %v, the layout's at LookupImage %v", s, at, got, w)
			}
		}
	}
}

// TestFallbackTagLike: the names referrersTag gives digests, and no other.
func TestFallbackTagLike(t *testing.T) {
	hex := strings.Repeat("a", 64)
	for _, tt := range []struct {
		name string
		want bool
	}{
		{referrersTag(digest.FromString("x")), true},
		{"sha512-" + hex + hex, true},
		{"sha256-" + hex, true},
		{"sha256-" + hex + ".sig", false},
		{"sha256-" + strings.Repeat("A", 64), false},
		{"sha256-" + hex[:63], false},
		{"md5-" + hex + hex, false},
		{"sha256" + hex + "x", false},
		{"latest", false},
		{"", false},
	} {
		if got := fallbackTagLike(tt.name); got != tt.want {
			t.Errorf("fallbackTagLike(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}
