package indexjson

import (
	"bufio"
	"encoding/json"
	"iter"
	"slices"
	"strconv"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Encode writes idx as json.NewEncoder(w).Encode(idx) would: the
// bytes of json.Marshal and a newline.
func Encode(w *bufio.Writer, idx *imgspecv1.Index) error {
	return encodeIndex(w, idx, idx.Manifests == nil, func() error {
		for i := range idx.Manifests {
			if i > 0 {
				w.WriteByte(',')
			}
			if err := encodeDescriptor(w, &idx.Manifests[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// Splice writes head (whose Manifests are ignored) as Encode would, with
// the entries of entries: each is raw, the text of a descriptor as Scan
// read it, written as it is, or, when raw is "", d encoded. A transaction
// that changes a few entries of a large index rewrites only those.
func Splice(w *bufio.Writer, head *imgspecv1.Index, entries iter.Seq2[string, *imgspecv1.Descriptor]) error {
	return encodeIndex(w, head, false, func() error {
		first := true
		for raw, d := range entries {
			if !first {
				w.WriteByte(',')
			}
			first = false
			var err error
			if raw != "" {
				_, err = w.WriteString(raw)
			} else {
				err = encodeDescriptor(w, d)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// encodeIndex writes idx with the manifests manifests writes between the
// brackets ("null" instead when null).
func encodeIndex(w *bufio.Writer, idx *imgspecv1.Index, null bool, manifests func() error) error {
	w.WriteString(`{"schemaVersion":`)
	w.WriteString(strconv.Itoa(idx.SchemaVersion))
	if idx.MediaType != "" {
		w.WriteString(`,"mediaType":`)
		writeStr(w, idx.MediaType)
	}
	if idx.ArtifactType != "" {
		w.WriteString(`,"artifactType":`)
		writeStr(w, idx.ArtifactType)
	}
	w.WriteString(`,"manifests":`)
	if null {
		w.WriteString("null")
	} else {
		w.WriteByte('[')
		if err := manifests(); err != nil {
			return err
		}
		w.WriteByte(']')
	}
	if idx.Subject != nil {
		w.WriteString(`,"subject":`)
		if err := writeJSON(w, idx.Subject); err != nil {
			return err
		}
	}
	if len(idx.Annotations) > 0 {
		w.WriteString(`,"annotations":`)
		writeStrMap(w, idx.Annotations)
	}
	_, err := w.WriteString("}\n")
	return err
}

func encodeDescriptor(w *bufio.Writer, d *imgspecv1.Descriptor) error {
	w.WriteString(`{"mediaType":`)
	writeStr(w, d.MediaType)
	w.WriteString(`,"digest":`)
	writeStr(w, string(d.Digest))
	w.WriteString(`,"size":`)
	w.WriteString(strconv.FormatInt(d.Size, 10))
	if len(d.URLs) > 0 {
		w.WriteString(`,"urls":`)
		if err := writeJSON(w, d.URLs); err != nil {
			return err
		}
	}
	if len(d.Annotations) > 0 {
		w.WriteString(`,"annotations":`)
		writeStrMap(w, d.Annotations)
	}
	if len(d.Data) > 0 {
		w.WriteString(`,"data":`)
		if err := writeJSON(w, d.Data); err != nil {
			return err
		}
	}
	if d.Platform != nil {
		w.WriteString(`,"platform":`)
		if err := writeJSON(w, d.Platform); err != nil {
			return err
		}
	}
	if d.ArtifactType != "" {
		w.WriteString(`,"artifactType":`)
		writeStr(w, d.ArtifactType)
	}
	return w.WriteByte('}')
}

// writeStrMap writes m with its keys sorted, as encoding/json does.
func writeStrMap(w *bufio.Writer, m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	w.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			w.WriteByte(',')
		}
		writeStr(w, k)
		w.WriteByte(':')
		writeStr(w, m[k])
	}
	w.WriteByte('}')
}

// writeStr writes s quoted. Printable ASCII that encoding/json leaves
// alone is copied; anything else (quotes, backslashes, the HTML
// characters it escapes, control and non-ASCII characters) is quoted by
// encoding/json itself.
func writeStr(w *bufio.Writer, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s) // a string always marshals
			w.Write(b)
			return
		}
	}
	w.WriteByte('"')
	w.WriteString(s)
	w.WriteByte('"')
}

func writeJSON(w *bufio.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
