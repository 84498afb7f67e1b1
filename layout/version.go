package layout

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/ocilayout/ocilayout/layout/internal/regfile"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// checkWritable refuses to change a layout whose oci-layout file names an
// imageLayoutVersion of another major version than 1: what a 2.x layout
// may hold, and what a writer must keep, is unknown to this code, so
// writes, gc and delete there could destroy what it does not understand.
// Reading is still allowed (Verify reports the version). A missing
// oci-layout is not refused here: Create restores it.
func (l *Layout) checkWritable() error {
	f, _, err := regfile.Open(l.root, imgspecv1.ImageLayoutFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("refusing to change %s: reading its oci-layout file: %w", l.dir, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 1<<16))
	var il imgspecv1.ImageLayout
	if err == nil {
		err = json.Unmarshal(data, &il)
	}
	if err != nil {
		return fmt.Errorf("refusing to change %s: reading its oci-layout file: %w", l.dir, err)
	}
	if !strings.HasPrefix(il.Version, "1.") {
		return fmt.Errorf("refusing to change %s: its oci-layout says imageLayoutVersion %q, and only 1.x layouts are written", l.dir, il.Version)
	}
	return nil
}
