package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// regionState is what a region keeps about itself in its data directory (region.json). It
// ties the directory to one region, so a directory is never served under another name.
type regionState struct {
	Region      string    `json:"region"`
	CreatedAt   time.Time `json:"created_at"`
	Incarnation int       `json:"incarnation"`
}

// openState loads region.json (creating it on the first start) and counts this start.
func (r *Region) openState() error {
	dir := Dir(r.cfg, r.name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("region %s: data directory: %w", r.name, err)
	}
	path := filepath.Join(dir, "region.json")
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		r.state = regionState{Region: r.name, CreatedAt: time.Now().UTC()}
	case err != nil:
		return fmt.Errorf("region %s: %w", r.name, err)
	default:
		if err := json.Unmarshal(b, &r.state); err != nil {
			return fmt.Errorf("region %s: %s is damaged: %w", r.name, path, err)
		}
		if r.state.Region != r.name {
			return fmt.Errorf("region %s: %s belongs to region %q; refusing to serve it as %q", r.name, path, r.state.Region, r.name)
		}
	}
	r.state.Incarnation++
	b, err = json.MarshalIndent(r.state, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'), 0o600)
}

// writeFileAtomic replaces path with data so that a reader sees the old or the new file,
// never a part, and the new file survives a crash once this returns.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
