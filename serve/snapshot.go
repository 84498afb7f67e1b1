package serve

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// snapshot is what one version of index.json serves, indexed for the
// requests: built once per change of the file, then read without locks by
// every request until the next change. It keeps of each entry only what a
// response uses (served), read without decoding the descriptors
// (layout.Layout.IndexEntries): at 100,000 names decoding them, and
// keeping whole descriptors in maps, was most of a reload's time and
// allocation.
type snapshot struct {
	version indexVersion
	// entries are index.json's entries, in order, then the manifests
	// their indexes hold; the fields below index into it.
	entries servedList
	// repos are the repositories with a tag, sorted; tags holds each
	// one's tags, sorted (the tags list answers from it as it is), with
	// the entry each names: of the entries that map to one tag, the first
	// in index.json order.
	repos []string
	tags  map[string][]tagAt
	// manifests is every manifest and index served by digest: the
	// entries and what their indexes hold, at any depth, each as the
	// first entry of its digest.
	manifests map[digest.Digest]int32
	// referrers maps a subject to the entries that refer to it.
	referrers map[digest.Digest][]int32
}

// served is what a response uses of an entry: the descriptor's media
// type, digest and size, and the ref.name a push keeps when it moves the
// tag.
type served struct {
	mediaType string
	digest    digest.Digest
	size      int64
	name      string
}

func (e served) descriptor() imgspecv1.Descriptor {
	return imgspecv1.Descriptor{MediaType: e.mediaType, Digest: e.digest, Size: e.size}
}

// servedList holds entries in chunks of a fixed size. One slice grown by
// append would be copied at every growth, and past a few hundred entries
// append grows by a quarter: at 100,000 entries that allocated five times
// the final slice.
type servedList struct {
	chunks [][]served
	n      int32
}

const servedChunk = 1024

// add appends e and returns its position.
func (l *servedList) add(e served) int32 {
	if l.n%servedChunk == 0 {
		l.chunks = append(l.chunks, make([]served, 0, servedChunk))
	}
	last := &l.chunks[len(l.chunks)-1]
	*last = append(*last, e)
	l.n++
	return l.n - 1
}

// at returns the entry at position i.
func (l *servedList) at(i int32) served { return l.chunks[i/servedChunk][i%servedChunk] }

// indexCache keeps the snapshot of the current index.json. A request
// costs one stat of index.json; the file is read and indexed again only
// when its identity (inode, size, mtime, ctime) changed, which every
// writer's rename guarantees, and by one request at a time (mu), while the
// others keep serving the previous snapshot's requests.
type indexCache struct {
	s     store
	names Names

	cur atomic.Pointer[snapshot]

	mu sync.Mutex // guards reloads, children and subjects
	// children caches what an index holds, by its digest: content
	// addressed, so never stale; kept only for indexes still listed.
	children map[digest.Digest][]imgspecv1.Descriptor
	// subjects caches the subject ("" for none) of untagged entries not
	// marked with annotationSubject, which other tools write as referrers.
	subjects map[digest.Digest]digest.Digest
}

func newIndexCache(s store, names Names) *indexCache {
	return &indexCache{s: s, names: names, children: map[digest.Digest][]imgspecv1.Descriptor{}, subjects: map[digest.Digest]digest.Digest{}}
}

func sameVersion(a, b indexVersion) bool { return a == b }

// get returns the snapshot of index.json as it is now.
func (c *indexCache) get(ctx context.Context) (*snapshot, error) {
	v, err := c.s.indexVersion()
	if err != nil {
		return nil, err
	}
	if cur := c.cur.Load(); cur != nil && sameVersion(cur.version, v) {
		return cur, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Stat again: another request may have reloaded while we waited. The
	// stat comes before the read, so a write in between only means one
	// more reload later, never a stale snapshot kept.
	if v, err = c.s.indexVersion(); err != nil {
		return nil, err
	}
	if cur := c.cur.Load(); cur != nil && sameVersion(cur.version, v) {
		return cur, nil
	}
	snap, err := c.build(ctx, v)
	if err != nil {
		return nil, err
	}
	c.cur.Store(snap)
	return snap, nil
}

// lookupTag returns the entry repo:tag names; repoKnown says whether the
// repository has any tag.
func (s *snapshot) lookupTag(repo, tag string) (e served, ok, repoKnown bool) {
	tags, repoKnown := s.tags[repo]
	if !repoKnown {
		return served{}, false, false
	}
	i, ok := slices.BinarySearchFunc(tags, tag, func(t tagAt, tag string) int { return strings.Compare(t.tag, tag) })
	if !ok {
		return served{}, false, true
	}
	return s.entries.at(tags[i].at), true, true
}

// manifest returns the manifest or index of digest d.
func (s *snapshot) manifest(d digest.Digest) (imgspecv1.Descriptor, bool) {
	i, ok := s.manifests[d]
	if !ok {
		return imgspecv1.Descriptor{}, false
	}
	return s.entries.at(i).descriptor(), true
}

// referrersOf returns the entries whose subject is d.
func (s *snapshot) referrersOf(d digest.Digest) []served {
	out := make([]served, len(s.referrers[d]))
	for i, at := range s.referrers[d] {
		out[i] = s.entries.at(at)
	}
	return out
}

// entryTag is the repository and tag an index.json entry is served
// under. The engine's referrers fallback tags (ALG-HEX of the entry's
// subject) are not tags of a repository: they belong to the referrers API.
func entryTag(n Names, e imgspecv1.Descriptor) (repo, tag string, ok bool) {
	return nameTag(n, e.Annotations[imgspecv1.AnnotationRefName], e.Annotations[annotationSubject])
}

// nameTag is entryTag of an entry's ref.name and annotationSubject.
func nameTag(n Names, name, subject string) (repo, tag string, ok bool) {
	if name == "" || isFallbackTag(name, subject) {
		return "", "", false
	}
	return n.Split(name)
}

// isFallbackTag reports whether name is the engine's fallback tag of
// subject: ALG-HEX for subject ALG:HEX. A subject without ':' (written by
// hand) has none.
func isFallbackTag(name, subject string) bool {
	alg, enc, ok := strings.Cut(subject, ":")
	return ok && len(name) == len(subject) && name[:len(alg)] == alg && name[len(alg)] == '-' && name[len(alg)+1:] == enc
}

func isIndexType(t string) bool {
	return t == imgspecv1.MediaTypeImageIndex || t == mediaTypeDockerList
}

// tagAt is a tag of a repository and the entry that holds it.
type tagAt struct {
	tag string
	at  int32
}

// builder is the state of one build of a snapshot.
type builder struct {
	c        *indexCache
	ctx      context.Context
	s        *snapshot
	children map[digest.Digest][]imgspecv1.Descriptor
	subjects map[digest.Digest]digest.Digest
	refSeen  map[digest.Digest]map[digest.Digest]bool
}

// build reads index.json and indexes it. Called with mu held.
func (c *indexCache) build(ctx context.Context, v indexVersion) (*snapshot, error) {
	b := &builder{
		c:   c,
		ctx: ctx,
		s: &snapshot{
			version:   v,
			tags:      map[string][]tagAt{},
			referrers: map[digest.Digest][]int32{},
		},
		children: map[digest.Digest][]imgspecv1.Descriptor{},
		subjects: map[digest.Digest]digest.Digest{},
		refSeen:  map[digest.Digest]map[digest.Digest]bool{},
	}
	if err := c.s.entries(ctx, b.add); err != nil {
		return nil, err
	}
	b.indexDigests()
	c.children, c.subjects = b.children, b.subjects
	b.sortTags()
	return b.s, nil
}

// add indexes one index.json entry.
func (b *builder) add(d imgspecv1.Descriptor, name, subject string) {
	s := b.s
	at := s.entries.add(served{mediaType: d.MediaType, digest: d.Digest, size: d.Size, name: name})
	if repo, tag, ok := nameTag(b.c.names, name, subject); ok {
		s.tags[repo] = append(s.tags[repo], tagAt{tag, at})
	}
	switch {
	case isFallbackTag(name, subject):
	case subject != "":
		b.addReferrer(digest.Digest(subject), d.Digest, at)
	case name == "" && (d.MediaType == imgspecv1.MediaTypeImageManifest || d.MediaType == imgspecv1.MediaTypeImageIndex):
		sub, ok := b.c.subjects[d.Digest]
		if !ok {
			sub = b.c.readSubject(b.ctx, d)
		}
		b.subjects[d.Digest] = sub
		if sub != "" {
			b.addReferrer(sub, d.Digest, at)
		}
	}
}

// indexDigests fills manifests, once the entries are known: a map sized
// for them all is never rehashed, which growing it while they came was a
// tenth of a reload of 100,000 digests. The entries are taken in order,
// each index's manifests where it is listed, as the first of a digest
// wins.
func (b *builder) indexDigests() {
	s := b.s
	top := s.entries.n
	s.manifests = make(map[digest.Digest]int32, top)
	for at := range top {
		e := s.entries.at(at)
		if _, ok := s.manifests[e.digest]; !ok {
			s.manifests[e.digest] = at
			b.addChildren(e.descriptor(), 0)
		}
	}
}

// addReferrer lists entry at, of digest d, among subject's referrers,
// once per digest.
func (b *builder) addReferrer(subject, d digest.Digest, at int32) {
	seen := b.refSeen[subject]
	if seen == nil {
		seen = map[digest.Digest]bool{}
		b.refSeen[subject] = seen
	}
	if !seen[d] {
		seen[d] = true
		b.s.referrers[subject] = append(b.s.referrers[subject], at)
	}
}

// sortTags sorts each repository's tags, keeping of a tag that several
// entries map to the first entry, and sorts the repositories.
func (b *builder) sortTags() {
	s := b.s
	s.repos = make([]string, 0, len(s.tags))
	for repo, tags := range s.tags {
		slices.SortFunc(tags, func(x, y tagAt) int {
			if c := strings.Compare(x.tag, y.tag); c != 0 {
				return c
			}
			return cmp.Compare(x.at, y.at)
		})
		s.tags[repo] = slices.CompactFunc(tags, func(x, y tagAt) bool { return x.tag == y.tag })
		s.repos = append(s.repos, repo)
	}
	slices.Sort(s.repos)
}

// maxIndexDepth bounds nested indexes, against a crafted cycle of digests
// (impossible with real hashes, but cheap to rule out).
const maxIndexDepth = 8

// addChildren adds what index e holds to the manifests served. An index
// that cannot be read (missing or corrupt) contributes nothing: its
// children are then not served by digest, and verify reports it.
func (b *builder) addChildren(e imgspecv1.Descriptor, depth int) {
	if !isIndexType(e.MediaType) || depth >= maxIndexDepth {
		return
	}
	kids, ok := b.children[e.Digest]
	if !ok {
		kids, ok = b.c.children[e.Digest]
	}
	if !ok {
		data, err := b.c.s.readBlob(b.ctx, e.Digest, e.Size)
		if err != nil {
			return
		}
		var idx imgspecv1.Index
		if json.Unmarshal(data, &idx) != nil {
			return
		}
		for _, k := range idx.Manifests {
			if k.Digest.Validate() == nil {
				kids = append(kids, k)
			}
		}
	}
	b.children[e.Digest] = kids
	for _, k := range kids {
		if _, ok := b.s.manifests[k.Digest]; !ok {
			b.s.manifests[k.Digest] = b.s.entries.add(served{mediaType: k.MediaType, digest: k.Digest, size: k.Size})
			b.addChildren(k, depth+1)
		}
	}
}

// readSubject reads the subject of an untagged entry's manifest.
func (c *indexCache) readSubject(ctx context.Context, e imgspecv1.Descriptor) digest.Digest {
	data, err := c.s.readBlob(ctx, e.Digest, e.Size)
	if err != nil {
		return ""
	}
	var m struct {
		Subject *imgspecv1.Descriptor `json:"subject"`
	}
	if json.Unmarshal(data, &m) != nil || m.Subject == nil || m.Subject.Digest.Validate() != nil {
		return ""
	}
	return m.Subject.Digest
}
