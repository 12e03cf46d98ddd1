package files

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"os"
	"path/filepath"

	"sandhold.dev/execd/pkg/apierr"
	"sandhold.dev/execd/pkg/ids"
)

// Meta is the JSON of an upload's "metadata" part.
type Meta struct {
	Path  string `json:"path"`
	Owner string `json:"owner"`
	Group string `json:"group"`
	Mode  int    `json:"mode"`
}

// maxMetaBytes bounds a metadata part; it is a small JSON object.
const maxMetaBytes = 64 << 10

// Upload consumes a multipart body of (metadata, file) part pairs and
// streams each file to disk; nothing is held in memory beyond a copy buffer.
// It returns the paths written, in order.
func Upload(mr *multipart.Reader, table *ids.Table) ([]string, error) {
	var pending *Meta
	var written []string
	buf := make([]byte, 256<<10)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return written, apierr.BadRequest("reading multipart body: %v", err)
		}
		switch part.FormName() {
		case "metadata":
			if pending != nil {
				return written, apierr.BadRequest("metadata for %q is not followed by a file part", pending.Path)
			}
			m, err := readMeta(part)
			if err != nil {
				return written, err
			}
			pending = m
		case "file":
			if pending == nil {
				return written, apierr.BadRequest("file part %d has no metadata part before it", len(written)+1)
			}
			if err := writeStream(*pending, part, buf, table); err != nil {
				return written, err
			}
			written = append(written, pending.Path)
			pending = nil
		default:
			_, _ = io.Copy(io.Discard, part)
		}
		part.Close()
	}
	if pending != nil {
		return written, apierr.BadRequest("metadata for %q has no file part", pending.Path)
	}
	if len(written) == 0 {
		return written, apierr.BadRequest("no (metadata, file) part pairs in the upload")
	}
	return written, nil
}

func readMeta(r io.Reader) (*Meta, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxMetaBytes+1))
	if err != nil {
		return nil, apierr.BadRequest("reading metadata part: %v", err)
	}
	if len(data) > maxMetaBytes {
		return nil, apierr.BadRequest("metadata part is larger than %d bytes", maxMetaBytes)
	}
	var m Meta
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, apierr.BadRequest("metadata part is not valid JSON {path,owner,group,mode}: %v", err)
	}
	p, err := CleanPath("metadata.path", m.Path)
	if err != nil {
		return nil, err
	}
	m.Path = p
	return &m, nil
}

// writeStream copies src into a temp file beside the target and renames it
// into place, so a reader never sees a half-written file.
func writeStream(m Meta, src io.Reader, buf []byte, table *ids.Table) error {
	mode, err := ModeFromWire(m.Mode, 0o644)
	if err != nil {
		return err
	}
	if st, err := os.Stat(m.Path); err == nil && st.IsDir() {
		return apierr.BadRequest("%q is a directory, not a file", m.Path)
	}
	dir := filepath.Dir(m.Path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating parent directory of %q: %w", m.Path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(m.Path)+".upload-*")
	if err != nil {
		return fmt.Errorf("creating temp file for %q: %w", m.Path, err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := io.CopyBuffer(tmp, src, buf); err != nil {
		return apierr.BadRequest("receiving %q: %v", m.Path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %q: %w", m.Path, err)
	}
	if err := finishFile(tmp.Name(), mode, m.Owner, m.Group, table); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), m.Path); err != nil {
		return fmt.Errorf("moving upload into %q: %w", m.Path, err)
	}
	done = true
	return nil
}

func finishFile(path string, mode fs.FileMode, owner, group string, table *ids.Table) error {
	if err := Chown(path, owner, group, table); err != nil {
		return err
	}
	// Chmod after chown: chown clears setuid/setgid bits.
	return os.Chmod(path, mode)
}
