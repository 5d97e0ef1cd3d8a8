package wasi

import (
	"fmt"
	"strings"
)

// ParseConfig builds the Config of a program from its argv, its environment
// ("K=V" each) and its preopened directories ("HOST[:GUEST]" each, GUEST
// defaulting to HOST), as `roam run` takes them; a node takes volumes
// instead (ParseVolumeConfig).
func ParseConfig(args, env, dirs []string) (Config, error) {
	cfg := Config{Args: args, Env: env}
	for _, e := range env {
		if !strings.Contains(e, "=") {
			return cfg, fmt.Errorf("env %q: want K=V", e)
		}
	}
	for _, d := range dirs {
		host, guest, ok := strings.Cut(d, ":")
		if !ok {
			guest = host
		}
		if host == "" || guest == "" {
			return cfg, fmt.Errorf("dir %q: want HOST[:GUEST]", d)
		}
		cfg.Preopens = append(cfg.Preopens, Preopen{HostPath: host, GuestPath: guest})
	}
	return cfg, nil
}
