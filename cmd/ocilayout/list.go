package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/ocilayout/ocilayout/layout"
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"
)

type listOptions struct {
	global        *globalOptions
	json          bool
	sharedBlobDir string
}

// listEntry is the --json shape of one index.json entry. It is declared
// here rather than marshalling descriptors so that the CLI's output stays
// stable even if the library's type grows fields.
type listEntry struct {
	Name      string              `json:"name"`
	Digest    digest.Digest       `json:"digest"`
	MediaType string              `json:"mediaType"`
	Size      int64               `json:"size"`
	Platform  *imgspecv1.Platform `json:"platform,omitempty"`
}

func newListCommand(global *globalOptions) *cobra.Command {
	opts := &listOptions{global: global}
	cmd := &cobra.Command{
		Use:   "list [flags] PATH",
		Short: "List the images in an OCI layout",
		Long: `List the entries of PATH/index.json in order: their name
(org.opencontainers.image.ref.name, <none> when unnamed), manifest digest,
media type and size. Position N in this list is what oci-layout:PATH:@N
selects. With docker-storage:ROOT, list the images of a Docker store
instead (name, image ID, store, size), read without a daemon.`,
		Example: `  ocilayout list ./images
  ocilayout list --json ./images | jq -r '.[].name'
  ocilayout list docker-storage:/var/lib/docker`,
		Args: exactArgs(1, "PATH"),
		RunE: func(cmd *cobra.Command, args []string) error { return opts.run(cmd, args) },
	}
	cmd.Flags().BoolVar(&opts.json, "json", false, "print a JSON array of {name, digest, mediaType, size, platform}")
	cmd.Flags().StringVar(&opts.sharedBlobDir, "shared-blob-dir", "", "`DIRECTORY` the layout keeps its blobs in")
	return cmd
}

func (opts *listOptions) run(cmd *cobra.Command, args []string) (retErr error) {
	if root, ok := dockerStorageRoot(args[0]); ok {
		return opts.runDockerStorage(cmd, root)
	}
	ctx := cmd.Context()
	l, err := opts.global.openLayout(args[0], opts.sharedBlobDir)
	if err != nil {
		return err
	}
	defer func() {
		if err := l.Close(); err != nil && retErr == nil {
			retErr = fmt.Errorf("closing layout %s: %w", args[0], err)
		}
	}()
	if opts.json {
		if err := writeListJSON(ctx, cmd.OutOrStdout(), l); err != nil {
			return fmt.Errorf("listing layout %s: %w", args[0], err)
		}
		return nil
	}
	out, err := listRows(ctx, l)
	if err != nil {
		return fmt.Errorf("listing layout %s: %w", args[0], err)
	}
	return writeListTable(cmd.OutOrStdout(), out)
}

// listRows is the table's rows of listEntries, header first, read
// without decoding the index (Layout.IndexEntries): at 100,000 entries
// that is 85 MB of descriptors and annotation maps not built, and the
// rows are made as the entries come, not from a list of them.
func listRows(ctx context.Context, l *layout.Layout) ([][4]string, error) {
	rows := [][4]string{{"NAME", "DIGEST", "MEDIA TYPE", "SIZE"}}
	err := l.IndexEntries(ctx, func(d imgspecv1.Descriptor, name, _ string) {
		rows = append(rows, tableRow(listEntry{Name: name, Digest: d.Digest, MediaType: d.MediaType, Size: d.Size}))
	})
	return rows, err
}

// writeListJSON prints every entry of index.json as a JSON array of
// listEntry, the bytes json.MarshalIndent(entries, "", "  ") gives, one
// entry at a time (Layout.EachEntry): at 100,000 entries with platforms
// the array held whole, its descriptors and its text took 282 MiB.
func writeListJSON(ctx context.Context, w io.Writer, l *layout.Layout) error {
	bw := bufio.NewWriter(w)
	n := 0
	err := l.EachEntry(ctx, func(e imgspecv1.Descriptor) error {
		b, err := json.MarshalIndent(listEntry{Name: e.Annotations[imgspecv1.AnnotationRefName], Digest: e.Digest, MediaType: e.MediaType, Size: e.Size, Platform: e.Platform}, "  ", "  ")
		if err != nil {
			return err
		}
		sep := ",\n  "
		if n == 0 {
			sep = "[\n  "
		}
		n++
		bw.WriteString(sep)
		_, err = bw.Write(b)
		return err
	})
	if err != nil {
		return err
	}
	if n == 0 {
		bw.WriteString("[]\n")
	} else {
		bw.WriteString("\n]\n")
	}
	return bw.Flush()
}

// tableRow is e's row of the table; sizes are exact byte counts so that
// they can be compared with descriptors.
func tableRow(e listEntry) [4]string {
	name := e.Name
	if name == "" {
		name = "<none>"
	}
	return [4]string{displayCell(name), e.Digest.String(), displayCell(e.MediaType), strconv.FormatInt(e.Size, 10)}
}

// writeListTable prints rows aligned (listRows: the header, then one row
// per entry). The layout is text/tabwriter's (minimum width 0, padding 2,
// spaces), written by alignRows in two passes: tabwriter took most of
// list's time at 100,000 entries (issue 15).
func writeListTable(w io.Writer, rows [][4]string) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	alignRows(bw, rows)
	return bw.Flush()
}

// alignRows writes rows as tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) writes
// them with their cells joined by tabs: each cell but the last padded with
// spaces to its column's widest cell (in runes) plus two.
func alignRows(w *bufio.Writer, rows [][4]string) {
	var width [3]int
	for _, r := range rows {
		for c := range width {
			if n := utf8.RuneCountInString(r[c]); n+2 > width[c] {
				width[c] = n + 2
			}
		}
	}
	const spaces = "                                                                "
	for _, r := range rows {
		for c := range width {
			w.WriteString(r[c])
			for pad := width[c] - utf8.RuneCountInString(r[c]); pad > 0; pad -= len(spaces) {
				w.WriteString(spaces[:min(pad, len(spaces))])
			}
		}
		w.WriteString(r[3])
		w.WriteByte('\n')
	}
}
