package node

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// membership is the pool this node talks to: the peers' base URLs from
// --peers and from --peers-file. The file is read again when it changes,
// so that a node can join a running pool without restarting the others.
// A node sends its peer token to members only, and a request naming any
// other URL (migrate --to, a begin's source) is refused before anything
// is sent.
type membership struct {
	static []string // normalised
	file   string

	mu       sync.Mutex
	modTime  time.Time
	size     int64
	fromFile []string // normalised
	fileErr  error
}

func newMembership(peers []string, file string) (*membership, error) {
	m := &membership{file: file}
	for _, p := range peers {
		for _, u := range strings.Split(p, ",") {
			if u = strings.TrimSpace(u); u == "" {
				continue
			}
			o, err := origin(u)
			if err != nil {
				return nil, fmt.Errorf("--peers: %w", err)
			}
			m.static = append(m.static, o)
		}
	}
	if file != "" {
		if _, err := os.Stat(file); err != nil {
			return nil, fmt.Errorf("--peers-file: %w", err)
		}
	}
	return m, nil
}

// origin normalises a node URL to scheme://host:port, lower case, with the
// scheme's default port made explicit; a path and a trailing slash are
// dropped (credentials go to an origin, whatever the path). Host names
// are not resolved: list a peer as the pool names it in --url.
func origin(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "", fmt.Errorf("peer URL %q: want http://HOST:PORT or https://HOST:PORT", s)
	}
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	return scheme + "://" + net.JoinHostPort(host, port), nil
}

// list is the members, normalised, in the order given.
func (m *membership) list() []string {
	out := slices.Clone(m.static)
	for _, o := range m.readFile() {
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

// has reports whether target (any URL on a node) is on a member.
func (m *membership) has(target string) bool {
	o, err := origin(target)
	return err == nil && slices.Contains(m.list(), o)
}

// readFile returns the file's members, read again if it changed. A file
// that cannot be read or parsed counts as empty: no credentials go out
// until it is fixed.
func (m *membership) readFile() []string {
	if m.file == "" {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	fi, err := os.Stat(m.file)
	if err != nil {
		m.fromFile, m.fileErr = nil, err
		return nil
	}
	if fi.ModTime().Equal(m.modTime) && fi.Size() == m.size && m.fileErr == nil {
		return m.fromFile
	}
	b, err := os.ReadFile(m.file)
	m.modTime, m.size, m.fromFile, m.fileErr = fi.ModTime(), fi.Size(), nil, err
	for _, line := range strings.Split(string(b), "\n") {
		if line, _, _ = strings.Cut(line, "#"); strings.TrimSpace(line) == "" {
			continue
		}
		for _, f := range strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
			if o, err := origin(f); err == nil {
				m.fromFile = append(m.fromFile, o)
			} else {
				m.fileErr = err
			}
		}
	}
	return m.fromFile
}

// notAPeer is the refusal of a URL outside the pool.
func notAPeer(target, what string) error {
	o, err := origin(target)
	if err != nil {
		o = target
	}
	return apiErrorf(codeNotAPeer, "%s %s is not a peer of this node: add it to the node's --peers (or --peers-file) to let nodes trust each other", what, o)
}
