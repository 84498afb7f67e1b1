// Command ocilayout-bench is the Go half of bench/run.sh: it generates the
// images the benchmark copies (so the script needs no network and no
// fixtures), serves an in-process registry, and times commands (median
// wall time of N runs and peak RSS), because bash alone measures neither
// precisely.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmds := map[string]func([]string) error{
		"gen-image": genImage,
		"gen-tags":  genTags,
		"gen-blobs": genBlobs,
		"sha256":    hashSerial,
		"registry":  serveRegistry,
		"requests":  requests,
		"measure":   measure,
		"compare":   compare,
	}
	run, ok := cmds[os.Args[1]]
	if !ok {
		usage()
	}
	if err := run(os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "ocilayout-bench %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage: ocilayout-bench COMMAND [flags]
  gen-image -dir D -name N -size BYTES -layers L   write an image (gzip layers) into a new OCI layout
            [-tar [-compressible F] [-uncompressed]]   layers as tar archives of files, F of them text; plain tar
  gen-tags  -dir D -tags N                         write a layout with N tags of one small image
  gen-blobs -dir D -size BYTES -blobs N            write a layout of N blobs (in 20 images)
  sha256    -dir D                                 hash every blob of D on one core (baseline)
  registry  -addr HOST:PORT [-root DIR] [-count] [-gen-tags N [-gen-repos R] [-gen-distinct] [-gen-schema2]]
                                                   serve a registry (in memory, or on disk in DIR) until killed,
                                                   counting requests, holding generated images
  requests  -addr HOST:PORT [-reset]               print (then zero) a -count registry's request counts
  measure   -runs N [-setup SH] -- CMD ARGS...     median wall seconds and peak RSS (KiB) of CMD
  compare   -runs N [-setup SH] [-rss] -- A... --vs-- B... [--vs-- C...]
                                                   medians of A, B, ..., run interleaved (-rss: and peak RSS)`)
	os.Exit(2)
}

// newFlags returns a FlagSet that exits on error with the command's name.
func newFlags(name string) *flag.FlagSet { return flag.NewFlagSet(name, flag.ExitOnError) }
