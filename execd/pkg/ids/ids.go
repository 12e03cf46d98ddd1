// Package ids maps user and group names to numeric ids by reading
// /etc/passwd and /etc/group directly: the binary is static (no cgo, so no
// NSS), and the sandbox image's own files are the truth.
package ids

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// User is one /etc/passwd entry.
type User struct {
	Name string
	UID  uint32
	GID  uint32
	Home string
}

// Table holds the parsed user and group databases.
type Table struct {
	users  []User
	groups map[uint32]string
	gids   map[string]uint32
}

// Files are the databases Load reads; tests point them elsewhere.
var (
	PasswdFile = "/etc/passwd"
	GroupFile  = "/etc/group"
)

// Load reads both files; missing files yield an empty table (ids are then
// shown numerically).
func Load() *Table {
	t := &Table{groups: map[uint32]string{}, gids: map[string]uint32{}}
	forEachRecord(PasswdFile, func(f []string) {
		if len(f) < 6 {
			return
		}
		uid, err1 := strconv.ParseUint(f[2], 10, 32)
		gid, err2 := strconv.ParseUint(f[3], 10, 32)
		if err1 == nil && err2 == nil {
			t.users = append(t.users, User{Name: f[0], UID: uint32(uid), GID: uint32(gid), Home: f[5]})
		}
	})
	forEachRecord(GroupFile, func(f []string) {
		if len(f) < 3 {
			return
		}
		if gid, err := strconv.ParseUint(f[2], 10, 32); err == nil {
			if _, seen := t.groups[uint32(gid)]; !seen {
				t.groups[uint32(gid)] = f[0]
			}
			t.gids[f[0]] = uint32(gid)
		}
	})
	return t
}

func forEachRecord(path string, fn func([]string)) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fn(strings.Split(line, ":"))
	}
}

// UserName is the name for uid, or the number as text.
func (t *Table) UserName(uid uint32) string {
	for _, u := range t.users {
		if u.UID == uid {
			return u.Name
		}
	}
	return strconv.FormatUint(uint64(uid), 10)
}

// GroupName is the name for gid, or the number as text.
func (t *Table) GroupName(gid uint32) string {
	if n, ok := t.groups[gid]; ok {
		return n
	}
	return strconv.FormatUint(uint64(gid), 10)
}

// UserByID finds the passwd entry of uid.
func (t *Table) UserByID(uid uint32) (User, bool) {
	for _, u := range t.users {
		if u.UID == uid {
			return u, true
		}
	}
	return User{}, false
}

// ParseUser accepts a user name or a numeric uid.
func (t *Table) ParseUser(s string) (uint32, error) {
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return uint32(n), nil
	}
	for _, u := range t.users {
		if u.Name == s {
			return u.UID, nil
		}
	}
	return 0, fmt.Errorf("unknown user %q (not in %s and not numeric)", s, PasswdFile)
}

// ParseGroup accepts a group name or a numeric gid.
func (t *Table) ParseGroup(s string) (uint32, error) {
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return uint32(n), nil
	}
	if gid, ok := t.gids[s]; ok {
		return gid, nil
	}
	return 0, fmt.Errorf("unknown group %q (not in %s and not numeric)", s, GroupFile)
}
