package files

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"sandhold.dev/execd/pkg/apierr"
	"sandhold.dev/execd/pkg/ids"
)

// Perm is the wire permission object {mode, owner, group}.
type Perm struct {
	Mode  int    `json:"mode"`
	Owner string `json:"owner"`
	Group string `json:"group"`
}

// MakeDir is mkdir -p with the mode applied to the final directory (and to
// parents it creates), then owner/group.
func MakeDir(path string, p Perm, table *ids.Table) error {
	mode, err := ModeFromWire(p.Mode, 0o755)
	if err != nil {
		return err
	}
	if st, err := os.Stat(path); err == nil && !st.IsDir() {
		return apierr.BadRequest("%q exists and is not a directory", path)
	}
	if err := os.MkdirAll(path, mode.Perm()); err != nil {
		return err
	}
	if err := Chown(path, p.Owner, p.Group, table); err != nil {
		return err
	}
	// MkdirAll is subject to the umask; set the asked mode exactly.
	return os.Chmod(path, mode)
}

// SetPerm changes mode (when given) and owner/group of one path.
func SetPerm(path string, p Perm, table *ids.Table) error {
	if _, err := os.Lstat(path); err != nil {
		return err
	}
	if err := Chown(path, p.Owner, p.Group, table); err != nil {
		return err
	}
	if p.Mode == 0 {
		return nil
	}
	mode, err := ModeFromWire(p.Mode, 0)
	if err != nil {
		return err
	}
	return os.Chmod(path, mode)
}

// RemoveFile deletes a file, symlink or (recursively) a directory: a
// delete that answers success always leaves nothing behind. A missing
// path is already deleted.
func RemoveFile(path string) error {
	if path == "/" {
		return apierr.BadRequest("refusing to delete /")
	}
	if err := os.RemoveAll(path); err != nil {
		return err
	}
	return nil
}

// RemoveDir deletes a directory tree; a non-directory is refused.
func RemoveDir(path string) error {
	st, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return apierr.BadRequest("%q is not a directory; delete it with DELETE /files", path)
	}
	return RemoveFile(path)
}

// Move renames src to dest; the destination directory must exist. Across
// filesystems a regular file is copied and the source removed.
func Move(src, dest string) error {
	if _, err := os.Lstat(src); err != nil {
		return err
	}
	if st, err := os.Stat(filepath.Dir(dest)); err != nil || !st.IsDir() {
		return apierr.BadRequest("destination directory %q does not exist", filepath.Dir(dest))
	}
	err := os.Rename(src, dest)
	if !errors.Is(err, syscall.EXDEV) {
		return err
	}
	st, err := os.Lstat(src)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return apierr.BadRequest("moving %q across filesystems works for regular files only", src)
	}
	if err := copyFile(src, dest, st.Mode()); err != nil {
		return err
	}
	return os.Remove(src)
}

func copyFile(src, dest string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode.Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copying %q to %q: %w", src, dest, err)
	}
	return out.Close()
}

// ReplaceItem is one {old, new} text replacement.
type ReplaceItem struct {
	Old *string `json:"old"`
	New *string `json:"new"`
}

// maxReplaceBytes bounds a file rewritten in memory by Replace.
const maxReplaceBytes = 64 << 20

// Replace substitutes every occurrence of old with new in path, keeping the
// file's mode and owner, and returns how many were replaced.
func Replace(path string, it ReplaceItem) (int, error) {
	if it.Old == nil || *it.Old == "" || it.New == nil {
		return 0, apierr.BadRequest("replace for %q needs a non-empty 'old' and a 'new'", path)
	}
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	if !st.Mode().IsRegular() {
		return 0, apierr.BadRequest("%q is not a regular file", path)
	}
	if st.Size() > maxReplaceBytes {
		return 0, apierr.BadRequest("%q is larger than %d bytes", path, maxReplaceBytes)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	n := bytes.Count(data, []byte(*it.Old))
	if n == 0 {
		return 0, nil
	}
	out := bytes.ReplaceAll(data, []byte(*it.Old), []byte(*it.New))
	// Truncate-and-write keeps inode, mode and owner.
	return n, os.WriteFile(path, out, st.Mode().Perm())
}
