package serve

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Error codes of the distribution spec (section "Error Codes"), and
// UNKNOWN, which distribution answers for server-side failures.
const (
	codeBlobUnknown         = "BLOB_UNKNOWN"
	codeBlobUploadInvalid   = "BLOB_UPLOAD_INVALID"
	codeBlobUploadUnknown   = "BLOB_UPLOAD_UNKNOWN"
	codeDigestInvalid       = "DIGEST_INVALID"
	codeManifestBlobUnknown = "MANIFEST_BLOB_UNKNOWN"
	codeManifestInvalid     = "MANIFEST_INVALID"
	codeManifestUnknown     = "MANIFEST_UNKNOWN"
	codeNameInvalid         = "NAME_INVALID"
	codeNameUnknown         = "NAME_UNKNOWN"
	codeSizeInvalid         = "SIZE_INVALID"
	codeUnauthorized        = "UNAUTHORIZED"
	codeDenied              = "DENIED"
	codeUnsupported         = "UNSUPPORTED"
	codeTagInvalid          = "TAG_INVALID"
	codeRangeInvalid        = "RANGE_INVALID"
	codeUnknown             = "UNKNOWN"
)

// apiError is one error of a response, as the spec's JSON body has it.
type apiError struct {
	status  int
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// newError builds an error for the handler to answer with.
func newError(status int, code, msg string) *apiError {
	return &apiError{status: status, Code: code, Message: msg}
}

// writeError answers with the spec's error body,
// {"errors":[{"code":...,"message":...}]}. A HEAD answer has no body, but
// keeps the status.
func writeError(w http.ResponseWriter, r *http.Request, e *apiError) {
	body, _ := json.Marshal(struct {
		Errors []*apiError `json:"errors"`
	}{[]*apiError{e}})
	h := w.Header()
	h.Del("Docker-Content-Digest")
	h.Del("Content-Range")
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if e.status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Basic realm="ocilayout"`)
	}
	w.WriteHeader(e.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
