package mirror

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"
)

// Action is what a sync did with one image.
type Action string

// Actions of a Result. In a dry run, images that a real run would copy or
// prune are ActionWouldCopy and ActionWouldPrune.
const (
	ActionCopied     Action = "copied"      // copied, or named after the same image the layout held
	ActionUnchanged  Action = "unchanged"   // the destination holds the source's digest
	ActionSkipped    Action = "skipped"     // an immutable tag already held, or not started after a failure
	ActionFailed     Action = "failed"      // see Error
	ActionPruned     Action = "pruned"      // deleted from the destination: the source no longer has it
	ActionWouldCopy  Action = "would-copy"  // dry run: differs or is missing
	ActionWouldPrune Action = "would-prune" // dry run
)

// Result is the outcome for one image.
type Result struct {
	Source      string        `json:"source"`
	Destination string        `json:"destination"`
	Digest      digest.Digest `json:"digest,omitempty"`
	Action      Action        `json:"action"`
	Error       string        `json:"error,omitempty"`
	// Referrers is how many referrers and cosign tags Options.Referrers
	// carried with the image; Note says why none could be.
	Referrers int    `json:"referrers,omitempty"`
	Note      string `json:"note,omitempty"`
}

// Totals count the Results by action.
type Totals struct {
	Images     int `json:"images"`
	Copied     int `json:"copied"`
	Unchanged  int `json:"unchanged"`
	Skipped    int `json:"skipped"`
	Failed     int `json:"failed"`
	Pruned     int `json:"pruned"`
	WouldCopy  int `json:"wouldCopy"`
	WouldPrune int `json:"wouldPrune"`
}

// Report is the result of Run: one Result per image, in plan order
// (sources in order, tags as the registry listed them), then the prunes.
type Report struct {
	DryRun bool     `json:"dryRun"`
	Images []Result `json:"images"`
	Totals Totals   `json:"totals"`
	// Reclaimed is what the GC after moved tags freed; nil when none ran
	// (see Options.KeepUnreferenced).
	Reclaimed *Reclaimed `json:"reclaimed,omitempty"`
}

// Reclaimed counts the blobs and bytes a sync's GC removed.
type Reclaimed struct {
	Blobs int   `json:"blobs"`
	Bytes int64 `json:"bytes"`
}

func newReport(dryRun bool, results []Result) *Report {
	r := &Report{DryRun: dryRun, Images: results}
	if r.Images == nil {
		r.Images = []Result{}
	}
	for _, res := range results {
		t := &r.Totals
		switch res.Action {
		case ActionCopied:
			t.Copied++
		case ActionUnchanged:
			t.Unchanged++
		case ActionSkipped:
			t.Skipped++
		case ActionFailed:
			t.Failed++
		case ActionPruned:
			t.Pruned++
		case ActionWouldCopy:
			t.WouldCopy++
		case ActionWouldPrune:
			t.WouldPrune++
		}
		if res.Action != ActionPruned && res.Action != ActionWouldPrune {
			t.Images++
		}
	}
	return r
}

// failures is the FailedError for the report, nil when nothing failed.
func (r *Report) failures() error {
	var failed []Result
	for _, res := range r.Images {
		if res.Action == ActionFailed {
			failed = append(failed, res)
		}
	}
	if failed == nil {
		return nil
	}
	return &FailedError{Failed: failed, Total: r.Totals.Images}
}

// WriteJSON writes the report as one indented JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Summary is the one-line total a human reads at the end.
func (r *Report) Summary() string {
	t := r.Totals
	if r.DryRun {
		return fmt.Sprintf("dry run: %d images: %d to copy, %d unchanged, %d skipped, %d failed; %d to prune",
			t.Images, t.WouldCopy, t.Unchanged, t.Skipped, t.Failed, t.WouldPrune)
	}
	return fmt.Sprintf("%d images: %d copied, %d unchanged, %d skipped, %d failed; %d pruned",
		t.Images, t.Copied, t.Unchanged, t.Skipped, t.Failed, t.Pruned)
}

// String is the plain progress line of one result: "copied NAME DIGEST",
// and the error of a failed one.
func (res Result) String() string {
	s := string(res.Action) + " " + res.Destination
	if res.Digest != "" {
		s += " " + res.Digest.String()
	}
	if res.Referrers > 0 {
		s += fmt.Sprintf(" (%d referrers)", res.Referrers)
	}
	if res.Error != "" {
		s += " (from " + res.Source + "): " + res.Error
	}
	if res.Note != "" {
		s += " (" + res.Note + ")"
	}
	return s
}
