package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/layout"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestListRowsMatchIndex: the table's rows, read without decoding the
// index, are the rows of the entries the full decode gives, and --json,
// written an entry at a time, is the bytes json.MarshalIndent gives for
// them, whatever shape index.json has: as Go tools write it, indented,
// with escaped names (and one that JSON escapes on the way out), with a
// key that only the full decode takes.
func TestListRowsMatchIndex(t *testing.T) {
	a := newTestImage(t, "a", "amd64")
	b := newTestImage(t, "b", "arm64")
	dir := filepath.Join(t.TempDir(), "layout")
	writeLayout(t, dir,
		layoutEntry{name: "app:v1", img: a},
		layoutEntry{img: b, platform: &imgspecv1.Platform{Architecture: "arm64", OS: "linux"}},
		layoutEntry{name: "quay.io/ns/app:2", img: a},
		layoutEntry{name: "é<&>", img: b},
	)
	compact, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, compact, "", "  "); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, text string }{
		{"compact", string(compact)},
		{"indented", indented.String()},
		{"escaped name", strings.Replace(string(compact), `"app:v1"`, `"app\u003av1"`, 1)},
		{"a key only the full decode takes", strings.Replace(string(compact), `{"schemaVersion":2,`, `{"schemaVersion":2,"x-other":true,`, 1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(dir, "index.json"), []byte(tt.text), 0o644); err != nil {
				t.Fatal(err)
			}
			l, err := layout.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			ctx := context.Background()
			want, err := listEntries(ctx, l)
			if err != nil {
				t.Fatal(err)
			}
			if len(want) != 4 {
				t.Fatalf("%d entries decoded, want 4", len(want))
			}
			wantRows := [][4]string{{"NAME", "DIGEST", "MEDIA TYPE", "SIZE"}}
			for _, e := range want {
				wantRows = append(wantRows, tableRow(e))
			}
			got, err := listRows(ctx, l)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, wantRows) {
				t.Fatalf("rows %q, from the decoded entries %q", got, wantRows)
			}
			checkListJSON(t, l, want)
		})
	}
	t.Run("no entries", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(dir, "index.json"), []byte(`{"schemaVersion":2,"manifests":[]}`), 0o644); err != nil {
			t.Fatal(err)
		}
		l, err := layout.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		checkListJSON(t, l, []listEntry{})
	})
}

// checkListJSON checks that list --json prints what json.MarshalIndent
// prints for want.
func checkListJSON(t *testing.T, l *layout.Layout, want []listEntry) {
	t.Helper()
	b, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := writeListJSON(context.Background(), &got, l); err != nil {
		t.Fatal(err)
	}
	if got.String() != string(b)+"\n" {
		t.Fatalf("--json printed\n%s\nMarshalIndent of the decoded entries\n%s", got.String(), b)
	}
}

// listEntries is every entry of index.json as --json prints it, from the
// index decoded whole: what the table and --json are checked against.
func listEntries(ctx context.Context, l *layout.Layout) ([]listEntry, error) {
	idx, err := l.Index(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]listEntry, 0, len(idx.Manifests))
	for _, e := range idx.Manifests {
		out = append(out, listEntry{Name: e.Annotations[imgspecv1.AnnotationRefName], Digest: e.Digest, MediaType: e.MediaType, Size: e.Size, Platform: e.Platform})
	}
	return out, nil
}
