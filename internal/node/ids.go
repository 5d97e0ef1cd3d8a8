package node

// Ids name directories and files under DIR, so every id that arrives in a
// request is checked before any use: nodes make them as a prefix and 16
// hex digits (newID); a request may name any id of the same shape, a
// prefix then lowercase letters, digits and '-', at most maxIDLen bytes.
// No '.', '/' or '\' can pass, so no id leaves its directory.
const maxIDLen = 64

// checkInstanceID is nil for a well-formed instance id ("i-...").
func checkInstanceID(id string) error { return checkID("instance", "i-", id) }

// checkMigrationID is nil for a well-formed migration id ("m-...").
func checkMigrationID(id string) error { return checkID("migration", "m-", id) }

func checkID(what, prefix, id string) error {
	if len(id) > len(prefix) && len(id) <= maxIDLen && id[:len(prefix)] == prefix && idChars(id[len(prefix):]) {
		return nil
	}
	shown := id
	if len(shown) > maxIDLen {
		shown = shown[:maxIDLen] + "..."
	}
	return apiErrorf(codeInvalidID, "%s id %q: want %s followed by lowercase letters, digits or '-', at most %d characters",
		what, shown, prefix, maxIDLen)
}

func idChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
