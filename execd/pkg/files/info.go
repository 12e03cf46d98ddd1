// Package files implements the filesystem routes' work: metadata, streamed
// uploads, ranged downloads, search, listing and the bulk operations. Paths
// are absolute paths inside the sandbox; the sandbox is the boundary.
package files

import (
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"sandhold.dev/execd/pkg/apierr"
	"sandhold.dev/execd/pkg/ids"
)

// Info is the wire FileInfo.
type Info struct {
	Path       string `json:"path"`
	Type       string `json:"type"`
	Size       int64  `json:"size"`
	ModifiedAt string `json:"modified_at"`
	CreatedAt  string `json:"created_at"`
	Owner      string `json:"owner"`
	Group      string `json:"group"`
	Mode       int    `json:"mode"`
}

// CleanPath validates a client path: present, absolute, cleaned.
func CleanPath(name, p string) (string, error) {
	if p == "" {
		return "", apierr.BadRequest("%s is required", name)
	}
	if !filepath.IsAbs(p) {
		return "", apierr.BadRequest("%s %q must be an absolute path", name, p)
	}
	return filepath.Clean(p), nil
}

// ModeToWire renders permission bits so the decimal digits read as octal
// (0o755 -> 755), including setuid/setgid/sticky as a leading digit.
func ModeToWire(m fs.FileMode) int {
	bits := uint64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		bits |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		bits |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		bits |= 0o1000
	}
	n, _ := strconv.Atoi(strconv.FormatUint(bits, 8))
	return n
}

// ModeFromWire reads a wire mode (755) as octal bits; 0 means "default".
func ModeFromWire(wire int, def fs.FileMode) (fs.FileMode, error) {
	if wire == 0 {
		return def, nil
	}
	v, err := strconv.ParseUint(strconv.Itoa(wire), 8, 32)
	if err != nil || wire < 0 || v > 0o7777 {
		return 0, apierr.BadRequest("mode %d is not an octal permission like 644 or 755", wire)
	}
	m := fs.FileMode(v & 0o777)
	if v&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if v&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if v&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m, nil
}

func fileType(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "file"
	case m.IsDir():
		return "directory"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	}
	return "other"
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Describe builds the Info of an entry already stat'ed (lstat semantics).
func Describe(path string, st fs.FileInfo, table *ids.Table) Info {
	info := Info{
		Path: path, Type: fileType(st.Mode()), Size: st.Size(),
		ModifiedAt: stamp(st.ModTime()), CreatedAt: stamp(st.ModTime()),
		Owner: "0", Group: "0", Mode: ModeToWire(st.Mode()),
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		info.Owner, info.Group = table.UserName(sys.Uid), table.GroupName(sys.Gid)
		// Birth time needs statx; ctime is the closest portable stand-in.
		info.CreatedAt = stamp(time.Unix(sys.Ctim.Sec, sys.Ctim.Nsec))
	}
	return info
}

// Stat describes one path without following a final symlink.
func Stat(path string, table *ids.Table) (Info, error) {
	st, err := os.Lstat(path)
	if err != nil {
		return Info{}, err
	}
	return Describe(path, st, table), nil
}

// Chown applies owner/group given by name or id ("" keeps the current one).
func Chown(path, owner, group string, table *ids.Table) error {
	if owner == "" && group == "" {
		return nil
	}
	uid, gid := -1, -1
	if owner != "" {
		n, err := table.ParseUser(owner)
		if err != nil {
			return apierr.BadRequest("%v", err)
		}
		uid = int(n)
	}
	if group != "" {
		n, err := table.ParseGroup(group)
		if err != nil {
			return apierr.BadRequest("%v", err)
		}
		gid = int(n)
	}
	return os.Lchown(path, uid, gid)
}
