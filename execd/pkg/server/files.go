package server

import (
	"fmt"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"sandhold.dev/execd/pkg/apierr"
	"sandhold.dev/execd/pkg/files"
	"sandhold.dev/execd/pkg/ids"
)

// queryPaths returns the cleaned, absolute `path` query values (one or more).
func queryPaths(r *http.Request) ([]string, error) {
	raw := r.URL.Query()["path"]
	if len(raw) == 0 {
		return nil, apierr.BadRequest("query parameter 'path' is required")
	}
	out := make([]string, 0, len(raw))
	for _, p := range raw {
		c, err := files.CleanPath("path", p)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func queryPath(r *http.Request) (string, error) {
	return files.CleanPath("path", r.URL.Query().Get("path"))
}

func queryInt(r *http.Request, name string) (int, bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, false, apierr.BadRequest("query parameter %q must be a non-negative integer, got %q", name, v)
	}
	return n, true, nil
}

func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, apierr.BadRequest("expected a multipart/form-data body: %v", err))
		return
	}
	written, err := files.Upload(mr, ids.Load())
	if err != nil {
		s.log.Info("upload failed", "written", len(written), "error", err)
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) download(w http.ResponseWriter, r *http.Request) {
	path, err := queryPath(r)
	if err != nil {
		writeError(w, err)
		return
	}
	offset, hasOffset, err := queryInt(r, "offset")
	if err != nil {
		writeError(w, err)
		return
	}
	limit, hasLimit, err := queryInt(r, "limit")
	if err != nil {
		writeError(w, err)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		writeError(w, err)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		writeError(w, err)
		return
	}
	if st.IsDir() {
		writeError(w, apierr.BadRequest("%q is a directory, not a file", path))
		return
	}
	if hasOffset || hasLimit {
		if r.Header.Get("Range") != "" {
			writeError(w, apierr.BadRequest("offset/limit and the Range header are mutually exclusive"))
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_ = files.CopyLines(w, f, offset, limit)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filepath.Base(path)}))
	// ServeContent does Range (206), multi-range and 416; only its 416 body
	// is rewritten into the JSON error shape.
	http.ServeContent(&rangeErrorWriter{ResponseWriter: w, size: st.Size()}, r, "", st.ModTime(), f)
}

// rangeErrorWriter replaces ServeContent's plain-text 416 with JSON.
type rangeErrorWriter struct {
	http.ResponseWriter
	size      int64
	swallowed bool
}

func (rw *rangeErrorWriter) WriteHeader(code int) {
	if code == http.StatusRequestedRangeNotSatisfiable {
		rw.swallowed = true
		h := rw.Header()
		h.Del("Content-Length")
		h.Del("X-Content-Type-Options")
		writeJSON(rw.ResponseWriter, code, apierr.New(code, "RANGE_NOT_SATISFIABLE",
			"requested range is not satisfiable for a file of %d bytes", rw.size))
		return
	}
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *rangeErrorWriter) Write(b []byte) (int, error) {
	if rw.swallowed {
		return len(b), nil
	}
	return rw.ResponseWriter.Write(b)
}

func (s *Server) filesInfo(w http.ResponseWriter, r *http.Request) {
	paths, err := queryPaths(r)
	if err != nil {
		writeError(w, err)
		return
	}
	table := ids.Load()
	out := make(map[string]files.Info, len(paths))
	for _, p := range paths {
		info, err := files.Stat(p, table)
		if err != nil {
			writeError(w, err)
			return
		}
		out[p] = info
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	root, err := queryPath(r)
	if err != nil {
		writeError(w, err)
		return
	}
	found, err := files.Search(root, r.URL.Query().Get("pattern"), ids.Load())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, found)
}

func (s *Server) listDirectory(w http.ResponseWriter, r *http.Request) {
	dir, err := queryPath(r)
	if err != nil {
		writeError(w, err)
		return
	}
	depth, _, err := queryInt(r, "depth")
	if err != nil {
		writeError(w, err)
		return
	}
	entries, err := files.List(dir, depth, ids.Load())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, entries)
}

func (s *Server) removeFiles(w http.ResponseWriter, r *http.Request) {
	s.removeEach(w, r, files.RemoveFile)
}

func (s *Server) removeDirectories(w http.ResponseWriter, r *http.Request) {
	s.removeEach(w, r, files.RemoveDir)
}

func (s *Server) removeEach(w http.ResponseWriter, r *http.Request, remove func(string) error) {
	paths, err := queryPaths(r)
	if err != nil {
		writeError(w, err)
		return
	}
	for _, p := range paths {
		if err := remove(p); err != nil {
			writeError(w, err)
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) move(w http.ResponseWriter, r *http.Request) {
	var items []struct {
		Src  string `json:"src"`
		Dest string `json:"dest"`
	}
	if err := decodeJSON(r, &items, false); err != nil {
		writeError(w, err)
		return
	}
	for i, it := range items {
		src, err := files.CleanPath(fmt.Sprintf("[%d].src", i), it.Src)
		if err != nil {
			writeError(w, err)
			return
		}
		dest, err := files.CleanPath(fmt.Sprintf("[%d].dest", i), it.Dest)
		if err != nil {
			writeError(w, err)
			return
		}
		if err := files.Move(src, dest); err != nil {
			writeError(w, err)
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

// decodePathMap reads a {path: T} body with absolute, cleaned keys, in a
// stable (sorted) order so parents are handled before children.
func decodePathMap[T any](r *http.Request) ([]string, map[string]T, error) {
	var raw map[string]T
	if err := decodeJSON(r, &raw, false); err != nil {
		return nil, nil, err
	}
	if len(raw) == 0 {
		return nil, nil, apierr.BadRequest("request body must map at least one absolute path to its settings")
	}
	out := make(map[string]T, len(raw))
	keys := make([]string, 0, len(raw))
	for k, v := range raw {
		c, err := files.CleanPath("path", k)
		if err != nil {
			return nil, nil, err
		}
		out[c] = v
		keys = append(keys, c)
	}
	sort.Strings(keys)
	return keys, out, nil
}

func (s *Server) makeDirectories(w http.ResponseWriter, r *http.Request) {
	s.applyPerms(w, r, files.MakeDir)
}

func (s *Server) permissions(w http.ResponseWriter, r *http.Request) {
	s.applyPerms(w, r, files.SetPerm)
}

func (s *Server) applyPerms(w http.ResponseWriter, r *http.Request, apply func(string, files.Perm, *ids.Table) error) {
	keys, perms, err := decodePathMap[files.Perm](r)
	if err != nil {
		writeError(w, err)
		return
	}
	table := ids.Load()
	for _, p := range keys {
		if err := apply(p, perms[p], table); err != nil {
			writeError(w, err)
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) replace(w http.ResponseWriter, r *http.Request) {
	keys, items, err := decodePathMap[files.ReplaceItem](r)
	if err != nil {
		writeError(w, err)
		return
	}
	counts := make(map[string]map[string]int, len(keys))
	for _, p := range keys {
		n, err := files.Replace(p, items[p])
		if err != nil {
			writeError(w, err)
			return
		}
		counts[p] = map[string]int{"replacedCount": n}
	}
	if v := strings.ToLower(r.URL.Query().Get("verbose")); v == "true" || v == "1" {
		writeJSON(w, http.StatusOK, counts)
		return
	}
	w.WriteHeader(http.StatusOK)
}
