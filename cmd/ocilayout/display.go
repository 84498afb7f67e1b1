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
	if plainCell(s) {
		return s // the common case, without a rune-by-rune look
	}
	if strings.HasPrefix(s, `"`) || strings.ContainsFunc(s, func(r rune) bool {
		return r == unicode.ReplacementChar || !unicode.IsPrint(r) || unicode.IsSpace(r)
	}) {
		return strconv.Quote(s)
	}
	return s
}

// plainCell reports whether s is printable ASCII without spaces and does
// not start with a quote: what displayCell leaves as it is anyway.
func plainCell(s string) bool {
	if strings.HasPrefix(s, `"`) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}
