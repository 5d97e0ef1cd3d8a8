package wasi

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Errors of volume preopens, for callers that classify them.
var (
	// ErrUnknownVolume: a preopen names a volume the node does not have.
	ErrUnknownVolume = errors.New("unknown volume")
	// ErrHostPath: a preopen names a host path where only volumes are
	// allowed (on a node).
	ErrHostPath = errors.New("nodes expose only named volumes, not host paths")
	// ErrBadDir: a preopen spec that cannot be parsed, or a path that climbs
	// out of its volume.
	ErrBadDir = errors.New("bad directory")
	// ErrFileChanged: a file open in a snapshot is not the same on restore.
	ErrFileChanged = errors.New("file changed")
)

// classed is an error of one of the classes above with a message of its own.
type classed struct {
	msg   string
	class error
}

func (e *classed) Error() string        { return e.msg }
func (e *classed) Is(target error) bool { return target == e.class }

func fileChanged(msg string) error { return &classed{msg, ErrFileChanged} }

// Volumes are the host directories a node exposes to guests, by name. A
// guest sees only what is under a volume's root: a request names a volume
// and a path inside it, never a host path.
type Volumes struct{ roots map[string]string }

var volumeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ParseVolumes parses a node's --volume flags, "NAME=HOSTPATH" each. Every
// HOSTPATH must be an existing directory.
func ParseVolumes(specs []string) (*Volumes, error) {
	v := &Volumes{roots: map[string]string{}}
	for _, s := range specs {
		name, dir, ok := strings.Cut(s, "=")
		if !ok || !volumeName.MatchString(name) || dir == "" {
			return nil, fmt.Errorf("volume %q: want NAME=HOSTPATH, NAME of letters, digits, '.', '_', '-'", s)
		}
		if _, dup := v.roots[name]; dup {
			return nil, fmt.Errorf("volume %q given twice", name)
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, fmt.Errorf("volume %s: %w", name, err)
		}
		if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("volume %s: %s is not a directory", name, abs)
		}
		v.roots[name] = abs
	}
	return v, nil
}

// Names lists the volumes, sorted.
func (v *Volumes) Names() []string {
	names := make([]string, 0, len(v.roots))
	for n := range v.roots {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// open opens a volume's directory sub. os.Root confines the lookup, symlinks
// included, to the volume.
func (v *Volumes) open(name, sub string) (*os.Root, string, error) {
	dir, ok := v.roots[name]
	if !ok {
		return nil, "", fmt.Errorf("%w %q (this node has: %s)", ErrUnknownVolume, name, v.list())
	}
	vol, err := os.OpenRoot(dir)
	if err != nil {
		return nil, "", fmt.Errorf("volume %s: %w", name, err)
	}
	defer vol.Close()
	if sub == "" {
		sub = "."
	}
	root, err := vol.OpenRoot(sub)
	var pe *os.PathError
	switch {
	case err == nil:
	case !errors.Is(err, os.ErrNotExist) && strings.Contains(err.Error(), "escapes"):
		err = &classed{fmt.Sprintf("%s leads out of the volume", sub), ErrBadDir}
	case errors.As(err, &pe):
		err = pe.Err // without the host path: that is the operator's business
	}
	if err != nil {
		return nil, "", fmt.Errorf("volume %s, directory %s: %w", name, sub, err)
	}
	return root, filepath.Join(dir, filepath.FromSlash(sub)), nil
}

func (v *Volumes) list() string {
	if len(v.roots) == 0 {
		return "no volumes"
	}
	return strings.Join(v.Names(), ", ")
}

// Check reports whether every preopen names a directory of these volumes.
func (v *Volumes) Check(ps []Preopen) error {
	for _, p := range ps {
		if p.Volume == "" {
			return fmt.Errorf("preopen %s (guest %s): %w (this node has: %s)", p.HostPath, p.GuestPath, ErrHostPath, v.list())
		}
		root, _, err := v.open(p.Volume, p.Sub)
		if err != nil {
			return err
		}
		root.Close()
	}
	return nil
}

// ParseVolumeConfig is ParseConfig for a node: each directory is
// "VOLUME[/PATH][:GUEST]", a path inside one of the node's volumes, GUEST
// defaulting to "/VOLUME[/PATH]".
func ParseVolumeConfig(args, env, dirs []string) (Config, error) {
	cfg, err := ParseConfig(args, env, nil)
	if err != nil {
		return cfg, err
	}
	for _, d := range dirs {
		p, err := ParseVolumeDir(d)
		if err != nil {
			return cfg, err
		}
		cfg.Preopens = append(cfg.Preopens, p)
	}
	return cfg, nil
}

// ParseVolumeDir parses one "VOLUME[/PATH][:GUEST]".
func ParseVolumeDir(d string) (Preopen, error) {
	spec, guest, _ := strings.Cut(d, ":")
	name, sub, _ := strings.Cut(spec, "/")
	bad := func(why string) (Preopen, error) {
		return Preopen{}, &classed{fmt.Sprintf("dir %q: %s; want VOLUME[/PATH][:GUEST], a path inside one of the node's volumes", d, why), ErrBadDir}
	}
	switch {
	case strings.HasPrefix(spec, "/"):
		return bad("nodes expose named volumes, not host paths")
	case !volumeName.MatchString(name):
		return bad("no volume name")
	case strings.IndexByte(d, 0) >= 0:
		return bad("NUL byte")
	}
	if sub != "" {
		c, errno := cleanRel(sub)
		if errno != ESUCCESS {
			return bad("the path climbs out of the volume")
		}
		sub = c
		if sub == "." {
			sub = ""
		}
	}
	if guest == "" {
		guest = "/" + path.Join(name, sub)
	}
	return Preopen{Volume: name, Sub: sub, GuestPath: guest}, nil
}

// Spec is the preopen as ParseVolumeDir or ParseConfig read it.
func (p Preopen) Spec() string {
	if p.Volume == "" {
		return p.HostPath + ":" + p.GuestPath
	}
	return path.Join(p.Volume, p.Sub) + ":" + p.GuestPath
}
