package indexjson

import (
	"strings"
	"testing"
)

// TestQuickEntry: quickEntry takes the shapes every Go tool writes, leaves
// the others to descriptor, and where it takes one finds what descriptor
// finds: the same end, digest and keys.
func TestQuickEntry(t *testing.T) {
	hex := strings.Repeat("a", 64)
	manifest := `{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` + hex + `","size":`
	tests := []struct {
		name  string
		entry string
		quick bool
	}{
		{"tagged manifest", manifest + `528,"annotations":{"org.opencontainers.image.ref.name":"v1.0"}}`, true},
		{"untagged", manifest + `528}`, true},
		{"referrer keys", manifest + `1,"annotations":{"io.github.ocilayout.subject":"sha256:` + hex + `","io.github.ocilayout.subject-root":"sha256:b","org.opencontainers.image.ref.name":"x"}}`, true},
		{"other annotations", manifest + `0,"annotations":{"a":"","org.opencontainers.image.created":"2026"}}`, true},
		{"repeated name, last wins", manifest + `1,"annotations":{"org.opencontainers.image.ref.name":"a","org.opencontainers.image.ref.name":"b"}}`, true},
		{"empty name", manifest + `1,"annotations":{"org.opencontainers.image.ref.name":""}}`, true},
		{"index media type", `{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:` + hex + `","size":9}`, true},
		{"empty media type and digest", `{"mediaType":"","digest":"","size":9}`, true},
		{"sha512", `{"mediaType":"m","digest":"sha512:` + hex + hex + `","size":9}`, true},
		{"long hex", manifest[:len(manifest)-len(`","size":`)] + `a","size":9}`, true},
		{"short hex", manifest[:len(manifest)-len(`a","size":`)] + `","size":9}`, true},
		{"size 18 digits", manifest + `123456789012345678}`, true},
		{"size 0", manifest + `0}`, true},

		{"negative size", manifest + `-1}`, false},
		{"size 19 digits", manifest + `1234567890123456789}`, false},
		{"size leading zero", manifest + `01}`, false},
		{"size fraction", manifest + `1.5}`, false},
		{"size exponent", manifest + `1e3}`, false},
		{"no size", manifest[:len(manifest)-len(`,"size":`)] + `}`, false},
		{"escape in hex", manifest[:len(manifest)-len(`a","size":`)] + `\u0061","size":9}`, false},
		{"escape in name", manifest + `1,"annotations":{"org.opencontainers.image.ref.name":"a\"b"}}`, false},
		{"non-ASCII name", manifest + `1,"annotations":{"org.opencontainers.image.ref.name":"é"}}`, false},
		{"white space", `{ "mediaType":"m","digest":"d","size":1}`, false},
		{"indented", "{\n  \"mediaType\": \"m\",\n  \"digest\": \"d\",\n  \"size\": 1\n}", false},
		{"keys in map order", `{"digest":"d","mediaType":"m","size":1}`, false},
		{"platform", manifest + `1,"platform":{"architecture":"amd64","os":"linux"}}`, true},
		{"name and platform", manifest + `1,"annotations":{"org.opencontainers.image.ref.name":"v1"},"platform":{"architecture":"arm64","os":"linux","variant":"v8"}}`, true},
		{"platform with os.version", manifest + `1,"platform":{"architecture":"amd64","os":"windows","os.version":"10.0.17763.1577"}}`, true},
		{"platform with os.version and variant", manifest + `1,"platform":{"architecture":"arm","os":"linux","os.version":"x","variant":"v7"}}`, true},
		{"empty platform values", manifest + `1,"platform":{"architecture":"","os":""}}`, true},

		{"platform with os.features", manifest + `1,"platform":{"architecture":"amd64","os":"windows","os.features":["win32k"]}}`, false},
		{"platform keys in map order", manifest + `1,"platform":{"os":"linux","architecture":"amd64"}}`, false},
		{"platform without os", manifest + `1,"platform":{"architecture":"amd64"}}`, false},
		{"platform variant before os.version", manifest + `1,"platform":{"architecture":"arm","os":"linux","variant":"v7","os.version":"x"}}`, false},
		{"platform with an escape", manifest + `1,"platform":{"architecture":"amd\u0036","os":"linux"}}`, false},
		{"platform then artifactType", manifest + `1,"platform":{"architecture":"amd64","os":"linux"},"artifactType":"x"}`, false},
		{"platform null", manifest + `1,"platform":null}`, false},
		{"platform before annotations", manifest + `1,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"a":"b"}}`, false},
		{"artifactType", manifest + `1,"annotations":{"a":"b"},"artifactType":"x"}`, false},
		{"empty annotations", manifest + `1,"annotations":{}}`, false},
		{"annotation not a string", manifest + `1,"annotations":{"a":1}}`, false},
		{"truncated", manifest + `1,"annotations":{"org.opencontainers.image.ref.name":"v`, false},
		{"truncated hex", manifest[:len(manifest)-20], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := tt.entry + `,{}`
			quick := indexParser{data: text}
			qk := keys{s: &Scanned{Text: text}}
			gotQuick := quick.quickEntry(&qk)
			if gotQuick != tt.quick {
				t.Fatalf("quickEntry took %q: %v, want %v", tt.entry, gotQuick, tt.quick)
			}
			if !gotQuick {
				if quick.pos != 0 {
					t.Fatalf("quickEntry refused %q but moved to %d", tt.entry, quick.pos)
				}
				return
			}
			full := indexParser{data: text}
			fk := keys{s: &Scanned{Text: text}}
			if _, ok := full.descriptor(&fk); !ok {
				t.Fatalf("quickEntry took %q, which descriptor refuses", tt.entry)
			}
			fk.e.Start, fk.e.End = 0, int32(full.pos)
			if qk.e != fk.e || quick.pos != full.pos {
				t.Fatalf("%q: quickEntry found %+v (to %d), descriptor %+v (to %d)", tt.entry, qk.e, quick.pos, fk.e, full.pos)
			}
		})
	}
}

// TestScanRefusesEveryTruncation: an index.json cut anywhere (a writer that
// died, a full disk) is refused, in order and in parts, and never read past
// its end: the quick path ends inside the media type, the digest, the size
// or an annotation at some cut.
func TestScanRefusesEveryTruncation(t *testing.T) {
	entry := `{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` + strings.Repeat("a", 64) + `","size":528,"annotations":{"org.opencontainers.image.ref.name":"v1"}}`
	text := `{"schemaVersion":2,"manifests":[` + entry + "," + entry + `]}`
	if _, ok := Scan(text); !ok {
		t.Fatalf("Scan refused the whole text %s", text)
	}
	for cut := range len(text) - 1 {
		if _, ok := Scan(text[:cut]); ok {
			t.Fatalf("Scan took the text cut at %d: %s", cut, text[:cut])
		}
		if _, ok := scanInParts(text[:cut], 2); ok {
			t.Fatalf("Scan in parts took the text cut at %d: %s", cut, text[:cut])
		}
	}
}
