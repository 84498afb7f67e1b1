package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/internal/fixture"
	"github.com/ocilayout/ocilayout/layout"
	"github.com/ocilayout/ocilayout/simplesign"
	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestSnapshotAfterOtherWriter: a running server serves each index.json
// another writer renames into place, whatever its shape, as that text
// says: the catalog, every repository's tags list, a HEAD of every tag and
// every manifest by digest (digest, Content-Type, Content-Length), the
// referrers of an image, and 404 for the tags of earlier versions that
// are gone. The expected answers are computed from the text decoded by
// encoding/json (expectServed). The versions move, drop and add tags,
// list one digest under two media types, map two names to one tag, hold
// a subject annotation that is not a digest, serve an image only from
// inside an index, and come compact, indented, with escaped strings the
// engine's scan decodes, with an unknown key that sends the engine to
// its full decode, and empty.
func TestSnapshotAfterOtherWriter(t *testing.T) {
	l := newLayout(t)
	ctx := context.Background()
	a := putImage(t, l, "a", "app:v1")
	b := putImage(t, l, "b", "")
	c := putImage(t, l, "c", "")
	inner := putImage(t, l, "inner", "") // listed only inside idx below
	if err := simplesign.Add(ctx, l, a.manifest, [][]byte{[]byte("sig one")}); err != nil {
		t.Fatal(err)
	}
	sbom := putArtifact(t, l, a.manifest, "application/spdx+json")
	idx := putIndex(t, l, "multi", b.manifest, inner.manifest)
	var engine []imgspecv1.Descriptor // the signature, its fallback tag, the SBOM, as the engine wrote them
	var idxDesc imgspecv1.Descriptor
	for _, e := range fixture.ReadIndex(t, l.Dir()).Manifests {
		switch {
		case e.Digest == idx:
			idxDesc = imgspecv1.Descriptor{MediaType: e.MediaType, Digest: e.Digest, Size: e.Size}
		case e.Digest != a.manifest.Digest && e.Digest != b.manifest.Digest && e.Digest != c.manifest.Digest && e.Digest != inner.manifest.Digest:
			engine = append(engine, e)
		}
	}
	if len(engine) != 3 || idxDesc.Digest == "" {
		t.Fatalf("the engine wrote %+v", engine)
	}
	named := func(d imgspecv1.Descriptor, ann ...string) imgspecv1.Descriptor {
		d.Annotations = map[string]string{}
		for i := 0; i+1 < len(ann); i += 2 {
			d.Annotations[ann[i]] = ann[i+1]
		}
		return d
	}
	tagged := func(d imgspecv1.Descriptor, name string) imgspecv1.Descriptor {
		return named(d, imgspecv1.AnnotationRefName, name)
	}
	docker := a.manifest
	docker.MediaType = mediaTypeDockerManifest
	untyped := b.manifest
	untyped.MediaType = ""
	first := append([]imgspecv1.Descriptor{
		tagged(a.manifest, "quay.io/ns/app:v1"),
		tagged(b.manifest, "ns/app:v2"),
		tagged(c.manifest, "v3"),
		tagged(idxDesc, "ns/app:multi"),
		tagged(docker, "ns/app:docker"),           // a's digest, another media type
		tagged(c.manifest, "docker.io/ns/app:v1"), // loses to quay.io/ns/app:v1
		named(c.manifest, imgspecv1.AnnotationRefName, "ns/app:odd", annotationSubject, "nocolon"),
		tagged(untyped, "ns/other:bare"),
		tagged(c.manifest, "Upper/Case:v1"), // not served by name
	}, engine...)
	moved := []imgspecv1.Descriptor{
		tagged(c.manifest, "docker.io/ns/app:v1"), // now first: v1 moves to c
		tagged(a.manifest, "quay.io/ns/app:v1"),
		tagged(a.manifest, "ns/new:latest"),
		tagged(idxDesc, "ns/new:multi"),
		engine[0],
	}
	h := New(l, WithNames(Names{DefaultRepo: "images"}))
	seen := map[[2]string]bool{}
	for _, v := range []struct{ name, text string }{
		{"compact", indexText(t, first, false)},
		{"tags moved, removed and added, indented", indexText(t, moved, true)},
		{"escaped strings", strings.NewReplacer(`"ns/app:`, `"ns\/app:`, `"application/vnd.docker`, `"application\u002fvnd.docker`, `"v3"`, `"\u00763"`).Replace(indexText(t, first, false))},
		{"an unknown key", strings.Replace(indexText(t, moved, false), `"size":`, `"x-unknown":{"size":1},"size":`, 1)},
		{"compact again", indexText(t, first, false)},
		{"no entries", indexText(t, []imgspecv1.Descriptor{}, false)},
	} {
		t.Run(v.name, func(t *testing.T) {
			writeIndexText(t, l.Dir(), v.text)
			w := checkServed(t, h, l, v.text, seen)
			if v.text == indexText(t, first, false) { // the expectations themselves cover what they should
				if _, ok := w.byDigest[inner.manifest.Digest]; !ok || w.byTag[[2]string{"ns/app", "v1"}].Digest != a.manifest.Digest || len(w.byTag) != 7 {
					t.Errorf("expected %+v", w)
				}
				if refs := w.referrers[a.manifest.Digest]; len(refs) != 2 || refs[1] != sbom {
					t.Errorf("expected referrers of a: %v", refs)
				}
			}
		})
	}
	if !seen[[2]string{"ns/app", "odd"}] || !seen[[2]string{"images", "v3"}] || !seen[[2]string{"ns/new", "latest"}] {
		t.Errorf("tags seen %v", seen)
	}
}

// indexText is index.json holding entries, as encoding/json writes it.
func indexText(t *testing.T, entries []imgspecv1.Descriptor, indent bool) string {
	t.Helper()
	idx := imgspecv1.Index{Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageIndex, Manifests: entries}
	if !indent {
		return string(fixture.MustJSON(t, idx))
	}
	data, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// writeIndexText replaces dir's index.json with text as a writer does: a
// new file renamed over the old one.
func writeIndexText(t *testing.T, dir, text string) {
	t.Helper()
	tmp := filepath.Join(dir, "index.json.other-writer")
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "index.json")); err != nil {
		t.Fatal(err)
	}
}

// expected is what the server answers for one index.json.
type expected struct {
	tags      map[string][]string                    // repository -> sorted tags
	byTag     map[[2]string]imgspecv1.Descriptor     // repository, tag -> entry
	byDigest  map[digest.Digest]imgspecv1.Descriptor // every manifest served by digest
	referrers map[digest.Digest][]digest.Digest      // subject -> referrer digests
}

// expectServed computes from text, decoded by encoding/json, what the
// server answers (doc.go and README's serve section): a tag is the first
// entry whose ref.name maps to it, the engine's fallback tags aside; a
// digest is the first entry of it, the manifests inside indexes included
// (depth first, where the index is listed); referrers are the entries
// marked with a subject and the untagged manifests whose subject field
// names it.
func expectServed(t *testing.T, l *layout.Layout, text string, n Names) expected {
	t.Helper()
	var idx imgspecv1.Index
	if err := json.Unmarshal([]byte(text), &idx); err != nil {
		t.Fatal(err)
	}
	w := expected{tags: map[string][]string{}, byTag: map[[2]string]imgspecv1.Descriptor{}, byDigest: map[digest.Digest]imgspecv1.Descriptor{}, referrers: map[digest.Digest][]digest.Digest{}}
	var add func(d imgspecv1.Descriptor)
	add = func(d imgspecv1.Descriptor) {
		if _, ok := w.byDigest[d.Digest]; ok {
			return
		}
		w.byDigest[d.Digest] = d
		if d.MediaType == imgspecv1.MediaTypeImageIndex {
			var kids imgspecv1.Index
			readJSON(t, l, d, &kids)
			for _, k := range kids.Manifests {
				add(k)
			}
		}
	}
	for _, e := range idx.Manifests {
		add(e)
		name, subject := e.Annotations[imgspecv1.AnnotationRefName], e.Annotations[annotationSubject]
		fallback := strings.Contains(subject, ":") && name == strings.Replace(subject, ":", "-", 1)
		if subject == "" && name == "" && e.MediaType == imgspecv1.MediaTypeImageManifest {
			var m imgspecv1.Manifest
			readJSON(t, l, e, &m)
			if m.Subject != nil {
				subject = m.Subject.Digest.String()
			}
		}
		if subject != "" && !fallback && !slices.Contains(w.referrers[digest.Digest(subject)], e.Digest) {
			w.referrers[digest.Digest(subject)] = append(w.referrers[digest.Digest(subject)], e.Digest)
		}
		if name == "" || fallback {
			continue
		}
		repo, tag, ok := n.Split(name)
		if _, taken := w.byTag[[2]string{repo, tag}]; !ok || taken {
			continue
		}
		w.byTag[[2]string{repo, tag}] = e
		w.tags[repo] = append(w.tags[repo], tag)
	}
	for _, tags := range w.tags {
		slices.Sort(tags)
	}
	return w
}

// readJSON decodes the blob of d into v.
func readJSON(t *testing.T, l *layout.Layout, d imgspecv1.Descriptor, v any) {
	t.Helper()
	data, err := l.ReadBlob(context.Background(), d.Digest, d.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
}

// checkServed compares what h answers with expectServed of text, and
// answers 404 for the tags in seen (earlier versions') that text lacks.
func checkServed(t *testing.T, h http.Handler, l *layout.Layout, text string, seen map[[2]string]bool) expected {
	t.Helper()
	w := expectServed(t, l, text, Names{DefaultRepo: "images"})
	repos := []string{}
	for repo := range w.tags {
		repos = append(repos, repo)
	}
	slices.Sort(repos)
	if got, want := readBody(t, do(t, h, "GET", "/v2/_catalog", nil)), string(fixture.MustJSON(t, map[string][]string{"repositories": repos})); got != want {
		t.Errorf("catalog %s, want %s", got, want)
	}
	for _, repo := range repos {
		want := string(fixture.MustJSON(t, struct {
			Name string   `json:"name"`
			Tags []string `json:"tags"`
		}{repo, w.tags[repo]}))
		if got := readBody(t, do(t, h, "GET", "/v2/"+repo+"/tags/list", nil)); got != want {
			t.Errorf("tags of %s: %s, want %s", repo, got, want)
		}
	}
	head := func(path string, d imgspecv1.Descriptor) {
		t.Helper()
		resp := do(t, h, "HEAD", path, nil)
		mt := d.MediaType
		if mt == "" {
			mt = imgspecv1.MediaTypeImageManifest // what the manifest says of itself
		}
		if resp.StatusCode != 200 || resp.Header.Get("Docker-Content-Digest") != d.Digest.String() || resp.Header.Get("Content-Type") != mt || resp.Header.Get("Content-Length") != strconv.FormatInt(d.Size, 10) {
			t.Errorf("HEAD %s: %d %v, want %s %s %d", path, resp.StatusCode, resp.Header, d.Digest, mt, d.Size)
		}
	}
	for key, d := range w.byTag {
		seen[key] = true
		head("/v2/"+key[0]+"/manifests/"+key[1], d)
	}
	for key := range seen {
		if _, ok := w.byTag[key]; !ok {
			if resp := do(t, h, "HEAD", "/v2/"+key[0]+"/manifests/"+key[1], nil); resp.StatusCode != 404 {
				t.Errorf("HEAD of %s:%s, not in this index.json: %d", key[0], key[1], resp.StatusCode)
			}
		}
	}
	for d, desc := range w.byDigest {
		head("/v2/any/repo/manifests/"+d.String(), desc)
	}
	for subject, want := range w.referrers {
		if digest.Digest(subject).Validate() != nil {
			continue // not a digest, so never asked for
		}
		var got imgspecv1.Index
		if err := json.Unmarshal([]byte(readBody(t, do(t, h, "GET", "/v2/any/referrers/"+subject.String(), nil))), &got); err != nil {
			t.Fatal(err)
		}
		var gotDigests []digest.Digest
		for _, r := range got.Manifests {
			gotDigests = append(gotDigests, r.Digest)
		}
		if !slices.Equal(gotDigests, want) {
			t.Errorf("referrers of %s: %v, want %v", subject, gotDigests, want)
		}
	}
	return w
}

// TestSnapshotReloadUnderRequests: while another writer renames in one
// of two index.json versions after the other, concurrent requests are
// answered from one whole version or the other, never a mix of the two
// nor an error (run with -race, the snapshot's swap is checked too).
func TestSnapshotReloadUnderRequests(t *testing.T) {
	l := newLayout(t)
	a := putImage(t, l, "a", "")
	b := putImage(t, l, "b", "")
	tagged := func(d imgspecv1.Descriptor, name string) imgspecv1.Descriptor {
		d.Annotations = map[string]string{imgspecv1.AnnotationRefName: name}
		return d
	}
	versions := []string{
		indexText(t, []imgspecv1.Descriptor{tagged(a.manifest, "app:v1"), tagged(a.manifest, "app:even")}, false),
		indexText(t, []imgspecv1.Descriptor{tagged(b.manifest, "app:v1"), tagged(b.manifest, "app:odd"), tagged(a.manifest, "app:z")}, true),
	}
	lists := map[string]bool{`{"name":"app","tags":["even","v1"]}`: true, `{"name":"app","tags":["odd","v1","z"]}`: true}
	writeIndexText(t, l.Dir(), versions[0])
	h := New(l)
	done := make(chan struct{})
	errs := make(chan string, 4)
	for range 4 {
		go func() {
			for {
				select {
				case <-done:
					errs <- ""
					return
				default:
				}
				tags := do(t, h, "GET", "/v2/app/tags/list", nil)
				list := readBody(t, tags)
				// The list and the HEAD are two requests, each from either
				// version.
				head := do(t, h, "HEAD", "/v2/app/manifests/v1", nil)
				d := head.Header.Get("Docker-Content-Digest")
				if !lists[list] || head.StatusCode != 200 || (d != a.manifest.Digest.String() && d != b.manifest.Digest.String()) {
					errs <- fmt.Sprintf("tags %d %s, HEAD v1 %d %s", tags.StatusCode, list, head.StatusCode, d)
					return
				}
			}
		}()
	}
	for i := range 60 {
		writeIndexText(t, l.Dir(), versions[i%2])
	}
	close(done)
	for range 4 {
		if e := <-errs; e != "" {
			t.Fatal(e)
		}
	}
	// The last version written is the one served now.
	if list := readBody(t, do(t, h, "GET", "/v2/app/tags/list", nil)); list != `{"name":"app","tags":["odd","v1","z"]}` {
		t.Fatalf("after the writes: %s", list)
	}
}
