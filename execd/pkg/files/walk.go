package files

import (
	"bufio"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"sandhold.dev/execd/pkg/apierr"
	"sandhold.dev/execd/pkg/ids"
)

// MaxResults bounds one search or listing so a walk of / cannot exhaust
// memory; callers narrow the path or pattern instead.
const MaxResults = 100000

// Match reports whether rel (slash-separated, relative to the search root)
// matches pattern. A pattern without "/" matches the base name at any
// depth ("*.py"); otherwise it matches the whole relative path, where "**"
// spans any number of directories ("src/**/*.go").
func Match(pattern, rel string) bool {
	if pattern == "" || pattern == "**" {
		return true
	}
	if !strings.Contains(pattern, "/") {
		ok, _ := path.Match(pattern, path.Base(rel))
		return ok
	}
	return matchSegments(strings.Split(pattern, "/"), strings.Split(rel, "/"))
}

func matchSegments(pat, segs []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(segs); i++ {
				if matchSegments(pat[1:], segs[i:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], segs[0]); !ok {
			return false
		}
		pat, segs = pat[1:], segs[1:]
	}
	return len(segs) == 0
}

// Search walks root (not following symlinks) and returns the non-directory
// entries whose path matches pattern.
func Search(root, pattern string, table *ids.Table) ([]Info, error) {
	if _, err := path.Match(strings.ReplaceAll(pattern, "**", "*"), ""); err != nil {
		return nil, apierr.BadRequest("pattern %q is not a valid glob: %v", pattern, err)
	}
	if err := requireDir(root); err != nil {
		return nil, err
	}
	out := []Info{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root || d.IsDir() {
			return nil // unreadable subtrees are skipped, not fatal
		}
		rel, _ := filepath.Rel(root, p)
		if !Match(pattern, filepath.ToSlash(rel)) {
			return nil
		}
		if st, err := d.Info(); err == nil {
			out = append(out, Describe(p, st, table))
		}
		if len(out) >= MaxResults {
			return fs.SkipAll
		}
		return nil
	})
	return out, err
}

func requireDir(p string) error {
	st, err := os.Lstat(p)
	if err != nil {
		return err
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		return apierr.BadRequest("%q is a symbolic link; pass the real directory", p)
	}
	if !st.IsDir() {
		return apierr.BadRequest("%q is not a directory", p)
	}
	return nil
}

// List returns the entries under dir down to depth levels (1 = children),
// in lexical order with descendants right after their parent. Symlinks are
// reported, never followed.
func List(dir string, depth int, table *ids.Table) ([]Info, error) {
	if depth <= 0 {
		depth = 1
	}
	if err := requireDir(dir); err != nil {
		return nil, err
	}
	out := []Info{}
	var walk func(d string, level int)
	walk = func(d string, level int) {
		entries, err := os.ReadDir(d)
		if err != nil {
			return
		}
		sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
		for _, e := range entries {
			if len(out) >= MaxResults {
				return
			}
			p := filepath.Join(d, e.Name())
			st, err := e.Info()
			if err != nil {
				continue
			}
			out = append(out, Describe(p, st, table))
			if e.IsDir() && level < depth {
				walk(p, level+1)
			}
		}
	}
	walk(dir, 1)
	return out, nil
}

// CopyLines writes lines offset..offset+limit-1 (1-based; limit 0 = to the
// end) of r to w, each with its newline as in the file.
func CopyLines(w io.Writer, r io.Reader, offset, limit int) error {
	if offset < 1 {
		offset = 1
	}
	br := bufio.NewReaderSize(r, 64<<10)
	for n := 1; limit <= 0 || n < offset+limit; n++ {
		line, err := br.ReadSlice('\n')
		for errors.Is(err, bufio.ErrBufferFull) {
			if n >= offset {
				if _, werr := w.Write(line); werr != nil {
					return werr
				}
			}
			line, err = br.ReadSlice('\n')
		}
		if n >= offset && len(line) > 0 {
			if _, werr := w.Write(line); werr != nil {
				return werr
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
	return nil
}
