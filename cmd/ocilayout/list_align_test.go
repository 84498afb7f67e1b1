package main

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"text/tabwriter"
)

// TestAlignRowsIsTabwriter: list's own alignment writes what the
// text/tabwriter it replaced wrote, for cells of every width (empty, wider
// than its padding buffer, multi-byte runes).
func TestAlignRowsIsTabwriter(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 3))
	parts := []string{"a", "t1", "é", "日本", "sha256:" + strings.Repeat("f", 64), "<none>", `"\x01"`}
	for range 300 {
		var rows [][4]string
		for range 1 + r.IntN(6) {
			var row [4]string
			for c := range row {
				for range r.IntN(4) {
					row[c] += parts[r.IntN(len(parts))]
				}
			}
			rows = append(rows, row)
		}
		var want bytes.Buffer
		tw := tabwriter.NewWriter(&want, 0, 4, 2, ' ', 0)
		for _, row := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", row[0], row[1], row[2], row[3])
		}
		tw.Flush()
		var got bytes.Buffer
		w := bufio.NewWriter(&got)
		alignRows(w, rows)
		w.Flush()
		if got.String() != want.String() {
			t.Fatalf("rows %q:\nalignRows\n%s\ntabwriter\n%s", rows, got.String(), want.String())
		}
	}
}
