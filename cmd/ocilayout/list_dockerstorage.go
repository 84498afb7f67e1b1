package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/opencontainers/go-digest"
	"github.com/spf13/cobra"

	"github.com/ocilayout/ocilayout/dockerstorage"
)

// dockerStorageListEntry is the --json shape of one image of a Docker store.
type dockerStorageListEntry struct {
	Names []string      `json:"names"`
	ID    digest.Digest `json:"id"`
	Store string        `json:"store"`
	Size  int64         `json:"size"`
}

// dockerStorageRoot says whether a list argument names a Docker store
// (docker-storage:[ROOT]) rather than a layout, and returns ROOT.
func dockerStorageRoot(arg string) (string, bool) {
	return strings.CutPrefix(arg, dockerstorage.TransportName+":")
}

// runDockerStorage lists a Docker store like docker images does: one row
// per name (<none> for a dangling image), its image ID, the store it is
// in and its size; docker-storage:ROOT:NAME or ROOT:@ID selects it.
func (opts *listOptions) runDockerStorage(cmd *cobra.Command, root string) error {
	imgs, err := dockerstorage.List(cmd.Context(), root)
	if err != nil {
		return err
	}
	if opts.json {
		out := make([]dockerStorageListEntry, 0, len(imgs))
		for _, im := range imgs {
			names := im.Names
			if names == nil {
				names = []string{}
			}
			out = append(out, dockerStorageListEntry{Names: names, ID: im.ID, Store: im.Store, Size: im.Size})
		}
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", b)
		return err
	}
	bw := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
	tw := tabwriter.NewWriter(bw, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tIMAGE ID\tSTORE\tSIZE")
	for _, im := range imgs {
		names := im.Names
		if len(names) == 0 {
			names = []string{"<none>"}
		}
		for _, n := range names {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", n, im.ID, im.Store, strconv.FormatInt(im.Size, 10))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return bw.Flush()
}
