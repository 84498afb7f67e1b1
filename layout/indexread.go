package layout

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"runtime/metrics"
	"strings"

	"github.com/ocilayout/ocilayout/layout/internal/indexjson"
	"github.com/ocilayout/ocilayout/layout/internal/regfile"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Index reads index.json. It takes no lock: writers replace the file by
// rename, so a reader sees either the old or the new index, whole.
func (l *Layout) Index(ctx context.Context) (*imgspecv1.Index, error) {
	text, err := l.readIndexText(ctx)
	if err != nil {
		return nil, err
	}
	return parseIndexText(text, "index.json of "+l.dir)
}

// scanIndex reads index.json for the callers that need few of its entries
// decoded (Lookup, Update): scanned, when indexjson.Scan takes it, or else
// decoded whole (by encoding/json, which also names what is wrong).
func (l *Layout) scanIndex(ctx context.Context) (*indexjson.Scanned, *imgspecv1.Index, error) {
	text, err := l.readIndexText(ctx)
	if err != nil {
		return nil, nil, err
	}
	if s, ok := indexjson.Scan(text); ok {
		if err := checkSchemaVersion(&s.Head, "index.json of "+l.dir); err != nil {
			return nil, nil, err
		}
		return s, nil, nil
	}
	idx, err := parseIndexText(text, "index.json of "+l.dir)
	return nil, idx, err
}

// entriesOf returns, in order, the entries of index.json as scanIndex
// read it (s, or idx when it could not be scanned) that are named name
// and, when subject is not "", those whose AnnotationSubject is subject;
// from s, only those are decoded. Names are compared by their keys first
// (indexjson.NameKey), so the 100,000 names of a large index are not
// read again from its text.
func entriesOf(s *indexjson.Scanned, idx *imgspecv1.Index, name, subject string) []imgspecv1.Descriptor {
	var out []imgspecv1.Descriptor
	if s == nil {
		for _, e := range idx.Manifests {
			if entryName(e) == name || (subject != "" && e.Annotations[AnnotationSubject] == subject) {
				out = append(out, e)
			}
		}
		return out
	}
	key := indexjson.NameKey(name)
	for i, e := range s.Entries {
		if (e.NameKey == key && s.Str(e.Name) == name) || (subject != "" && s.Str(e.Subject) == subject) {
			out = append(out, s.Detached(i))
		}
	}
	return out
}

// readIndexText reads index.json whole.
func (l *Layout) readIndexText(ctx context.Context) (string, error) {
	if err := checkContext(ctx); err != nil {
		return "", err
	}
	f, _, err := regfile.Open(l.root, imgspecv1.ImageIndexFile)
	if err != nil {
		return "", fmt.Errorf("reading index.json of %s: %w", l.dir, err)
	}
	defer f.Close()
	text, err := readAllSized(f, indexLimit(ctx))
	if err != nil {
		return "", fmt.Errorf("reading index.json of %s: %w", l.dir, err)
	}
	return text, nil
}

// largeIndex is the size from which reading index.json first collects
// garbage (readAllSized).
const largeIndex = 4 << 20

// readAllSized reads f whole into a string sized from its stat, refusing
// more than limit bytes. Sizing up front avoids the repeated grow-and-copy
// of io.ReadAll, which dominated reading a large index.json; a string,
// because the decoded entries' strings are substrings of it.
func readAllSized(f *os.File, limit int64) (string, error) {
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if fi.Size() > limit {
		return "", fmt.Errorf("larger than the %d-byte limit", limit)
	}
	if fi.Size() >= largeIndex && heapObjects() >= uint64(fi.Size()) {
		// The text of the previous read of a large index.json (the
		// source's, then the destination's Update, in one copy) is
		// garbage by now, but the collector would only notice once the
		// heap had doubled: collecting it first lets this text reuse its
		// memory, and keeps the peak at one text (issue 15: 64 MiB at
		// 100,000 entries, where each text is 20 to 30 MB). A heap
		// smaller than the text cannot hold an earlier one, and the
		// first read of a process (inspect) skips the collection.
		runtime.GC()
	}
	var b strings.Builder
	b.Grow(int(fi.Size()))
	if _, err := io.Copy(&b, io.LimitReader(f, limit+1)); err != nil {
		return "", err
	}
	if int64(b.Len()) > limit {
		return "", fmt.Errorf("larger than the %d-byte limit", limit)
	}
	return b.String(), nil
}

// heapObjects is the memory the heap's objects occupy, live or not yet
// collected (runtime/metrics reads it without stopping the world, as
// runtime.ReadMemStats would).
func heapObjects() uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return math.MaxUint64 // unknown: collect, as before
	}
	return sample[0].Value.Uint64()
}

// parseIndex decodes an image index. An entry whose digest is invalid (an
// unknown algorithm, uppercase hex, "../") or whose size is negative is
// kept as it is, opaque: refusing the whole index for it would make one
// bad entry brick the layout, even for the delete @N that removes it.
// Nothing joins such a digest into a path (blobstore.Path validates every
// digest), and resolution and the walker skip it, naming it
// (validDescriptor).
func parseIndex(data []byte, what string) (*imgspecv1.Index, error) {
	return parseIndexText(string(data), what)
}

// parseIndexText is parseIndex of a text held as a string.
func parseIndexText(text, what string) (*imgspecv1.Index, error) {
	idx, err := indexjson.DecodeText(text)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", what, err)
	}
	if err := checkSchemaVersion(idx, what); err != nil {
		return nil, err
	}
	return idx, nil
}

func checkSchemaVersion(idx *imgspecv1.Index, what string) error {
	if idx.SchemaVersion != 2 {
		return fmt.Errorf("parsing %s: schemaVersion %d, expected 2", what, idx.SchemaVersion)
	}
	return nil
}
