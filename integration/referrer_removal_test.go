package integration

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

// TestDeletedSignatureIsNoLongerAccepted: after `ocilayout delete
// @sha256:<signature>` (real processes, as a user runs them), inspect
// shows no signature and a signedBy policy rejects the image: the
// subject's referrers fallback tag no longer lists it.
func TestDeletedSignatureIsNoLongerAccepted(t *testing.T) {
	key := newTestKey(t, "Release Signer", "")
	dir := signedLayout(t, key, 43)
	src := "oci-layout:" + dir + ":" + signedName
	if err := copyIn(t, policyFor(t, dir, signedByPath(key)), src, "dir:"+filepath.Join(t.TempDir(), "before"), nil, false); err != nil {
		t.Fatalf("signed image refused before the delete: %v", err)
	}
	var entries []struct{ Name, Digest string }
	if err := json.Unmarshal([]byte(mustRunCLI(t, "list", "--json", dir)), &entries); err != nil {
		t.Fatal(err)
	}
	sig := ""
	for _, e := range entries {
		if e.Name == "" {
			sig = e.Digest
		}
	}
	if sig == "" {
		t.Fatalf("no untagged signature entry in %+v", entries)
	}
	mustRunCLI(t, "delete", "oci-layout:"+dir+":@"+sig)
	var out struct{ Signatures []struct{ KeyID string } }
	if err := json.Unmarshal([]byte(mustRunCLI(t, "inspect", src)), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Signatures) != 0 {
		t.Errorf("inspect still shows %d signatures after deleting %s", len(out.Signatures), sig)
	}
	err := copyIn(t, policyFor(t, dir, signedByPath(key)), src, "dir:"+filepath.Join(t.TempDir(), "after"), nil, false)
	expectPolicyRejection(t, err, "no signature exists")
	mustRunCLI(t, "verify", dir)
}
