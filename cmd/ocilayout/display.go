package main

import (
	"strconv"
	"strings"
	"unicode"
)

// displayCell makes a value read from a layout (a ref.name, a media type:
// anyone who can write index.json chose it) safe to print as one cell of
// a table: a value with a control character, a tab or newline (which would
// forge a row or a column), any other space, an invalid UTF-8 byte, or a
// leading quote is printed Go-quoted (strconv.Quote), so the terminal
// shows what is there and the row stays one row. Ordinary names are
// printed as they are.
func displayCell(s string) string {
	if strings.HasPrefix(s, `"`) || strings.ContainsFunc(s, func(r rune) bool {
		return r == unicode.ReplacementChar || !unicode.IsPrint(r) || unicode.IsSpace(r)
	}) {
		return strconv.Quote(s)
	}
	return s
}
