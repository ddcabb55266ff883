package secret

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// LoadOrCreateMasterKey returns a Sealer whose master key is the KeySize
// raw bytes in the file at path, creating the file with a new random key,
// readable and writable by its owner only (0600), if it does not exist.
// The directory must exist.
//
// It refuses a file that is not a regular file, that is not exactly
// KeySize bytes, or whose mode gives the group or others any permission:
// a master key anyone else on the machine may read protects nothing.
// Creating is atomic: the key is written to a temporary file and linked
// into place, so a crash never leaves a short key file, and two processes
// starting at once end up with the same key.
func LoadOrCreateMasterKey(path string) (*Sealer, error) {
	s, err := loadMasterKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return s, err
	}
	if err := createMasterKey(path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	// Ours, or the one another process linked first.
	return loadMasterKey(path)
}

func loadMasterKey(path string) (*Sealer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("secret: master key file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat() // of the file opened, not of whatever path names now
	if err != nil {
		return nil, fmt.Errorf("secret: master key file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("secret: master key file %s is not a regular file", path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("secret: master key file %s has mode %04o; it must be readable by its owner only (chmod 600 %s)", path, perm, path)
	}
	key := make([]byte, KeySize+1)
	defer clear(key)
	n, err := io.ReadFull(f, key)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("secret: master key file: %w", err)
	}
	if n != KeySize {
		return nil, fmt.Errorf("secret: master key file %s is not %d bytes", path, KeySize)
	}
	return New(key[:KeySize])
}

func createMasterKey(path string) (err error) {
	key := make([]byte, KeySize)
	defer clear(key)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("secret: generating a master key: %w", err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*") // mode 0600
	if err != nil {
		return fmt.Errorf("secret: creating the master key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		tmp.Close()
		return fmt.Errorf("secret: creating the master key file: %w", err)
	}
	if _, err := tmp.Write(key); err != nil {
		tmp.Close()
		return fmt.Errorf("secret: writing the master key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("secret: writing the master key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("secret: writing the master key file: %w", err)
	}
	// Link, unlike rename, fails if path exists: never replace a key.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return fmt.Errorf("secret: creating the master key file: %w", err)
	}
	if d, err := os.Open(dir); err == nil { // make the new name durable
		d.Sync()
		d.Close()
	}
	return nil
}
