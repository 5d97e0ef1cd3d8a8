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

// ResolveToken returns the pool token: the content of tokenFile when given,
// else env (ROAM_TOKEN), else the one in DIR/token, created on first use
// (mode 0600). created reports that a new token was written there.
func ResolveToken(tokenFile, env, dir string) (token, path string, created bool, err error) {
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return "", "", false, fmt.Errorf("read --token-file: %w", err)
		}
		return checkToken(strings.TrimSpace(string(b)), tokenFile)
	}
	if env != "" {
		return checkToken(env, "ROAM_TOKEN")
	}
	path = filepath.Join(dir, "token")
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
