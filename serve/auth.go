package serve

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Htpasswd is a set of users from an htpasswd file with bcrypt hashes
// (`htpasswd -B`), the only kind accepted: MD5-crypt, SHA1 and plain
// entries are refused when the file is loaded rather than trusted.
type Htpasswd struct {
	users map[string][]byte

	// bcrypt costs tens of milliseconds by design, too much for every
	// request of a pull; a successful check is remembered for a few
	// minutes as the SHA-256 of the password (never the password).
	mu sync.Mutex
	ok map[string]okEntry
}

type okEntry struct {
	sum   [32]byte
	until time.Time
}

const authCacheFor = 5 * time.Minute

// LoadHtpasswd reads an htpasswd file of "user:bcrypt-hash" lines.
func LoadHtpasswd(path string) (*Htpasswd, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading htpasswd file %s: %w", path, err)
	}
	defer f.Close()
	h := &Htpasswd{users: map[string][]byte{}, ok: map[string]okEntry{}}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, hash, found := strings.Cut(line, ":")
		if !found || user == "" {
			return nil, fmt.Errorf("htpasswd file %s, line %d: not user:hash", path, n)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("htpasswd file %s, line %d (user %s): not a bcrypt hash (make it with htpasswd -B): %w", path, n, user, err)
		}
		h.users[user] = []byte(hash)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading htpasswd file %s: %w", path, err)
	}
	return h, nil
}

// check reports whether user and password match an entry.
func (h *Htpasswd) check(user, password string) bool {
	if h == nil {
		return false
	}
	hash, ok := h.users[user]
	if !ok {
		return false
	}
	sum := sha256.Sum256([]byte(password))
	h.mu.Lock()
	e, cached := h.ok[user]
	h.mu.Unlock()
	if cached && time.Now().Before(e.until) && subtle.ConstantTimeCompare(e.sum[:], sum[:]) == 1 {
		return true
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil {
		return false
	}
	h.mu.Lock()
	h.ok[user] = okEntry{sum: sum, until: time.Now().Add(authCacheFor)}
	h.mu.Unlock()
	return true
}

// authorize decides a request: without users, everyone may read (and
// write, with WithPush); with users, every request needs a known user,
// and writes a writer. It returns the user, for the access log.
func (s *server) authorize(r *http.Request) (string, *apiError) {
	if s.readers == nil && s.writers == nil {
		return "", nil
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return "", newError(http.StatusUnauthorized, codeUnauthorized, "authentication required")
	}
	writer := s.writers.check(user, pass)
	if !writer && !s.readers.check(user, pass) {
		return user, newError(http.StatusUnauthorized, codeUnauthorized, "invalid user name or password")
	}
	if isWrite(r) && !writer && s.push {
		return user, newError(http.StatusForbidden, codeDenied, "user "+user+" may only pull")
	}
	return user, nil
}
