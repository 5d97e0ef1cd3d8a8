package node

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/roam-edge/roam/internal/atomicfile"
)

// ResolveToken returns the client token: the content of tokenFile when
// given, else env (ROAM_TOKEN), else the one in DIR/token, created on first
// use (mode 0600). created reports that a new token was written there.
func ResolveToken(tokenFile, env, dir string) (token, path string, created bool, err error) {
	return resolveSecret(tokenFile, "--token-file", env, "ROAM_TOKEN", filepath.Join(dir, "token"))
}

// ResolvePeerToken returns the peer token the same way, from
// --peer-token-file, ROAM_PEER_TOKEN or DIR/peer-token. A created one is
// this node's alone: nodes migrate to each other only once they share it.
func ResolvePeerToken(tokenFile, env, dir string) (token, path string, created bool, err error) {
	return resolveSecret(tokenFile, "--peer-token-file", env, "ROAM_PEER_TOKEN", filepath.Join(dir, "peer-token"))
}

func resolveSecret(tokenFile, flag, env, envName, path string) (token, from string, created bool, err error) {
	dir := filepath.Dir(path)
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return "", "", false, fmt.Errorf("read %s: %w", flag, err)
		}
		return checkToken(strings.TrimSpace(string(b)), tokenFile)
	}
	if env != "" {
		return checkToken(env, envName)
	}
	if b, err := os.ReadFile(path); err == nil {
		return checkToken(strings.TrimSpace(string(b)), path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", "", false, err
	}
	var raw [24]byte
	_, _ = rand.Read(raw[:])
	token = hex.EncodeToString(raw[:])
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", false, err
	}
	if err := atomicfile.WriteBytes(path, []byte(token+"\n")); err != nil {
		return "", "", false, err
	}
	return token, path, true, os.Chmod(path, 0o600)
}

func checkToken(t, from string) (string, string, bool, error) {
	if t == "" {
		return "", "", false, fmt.Errorf("the token in %s is empty", from)
	}
	return t, from, false, nil
}
