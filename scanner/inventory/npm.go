package inventory

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// packageLock is the part of a package-lock.json that lists installed
// packages: "packages" (lockfileVersion 2 and 3) or "dependencies" (1; 2
// carries both).
// https://docs.npmjs.com/cli/configuring-npm/package-lock-json
type packageLock struct {
	Packages     map[string]lockPackage `json:"packages"`
	Dependencies map[string]lockDep     `json:"dependencies"`
}

type lockPackage struct {
	Name    string `json:"name"` // set for an alias: the real package
	Version string `json:"version"`
}

type lockDep struct {
	Version      string             `json:"version"`
	Dependencies map[string]lockDep `json:"dependencies"`
}

// parsePackageLock reads an npm package-lock.json.
func parsePackageLock(r io.Reader, f *File) error {
	var lock packageLock
	if err := json.NewDecoder(r).Decode(&lock); err != nil {
		return fmt.Errorf("malformed package-lock.json: %w", err)
	}
	add := func(name, version string) {
		// Versions of git, file and alias dependencies ("github:u/r#sha",
		// "file:../x", "npm:other@1.0.0") match no advisory.
		if word(name) && word(version) && !strings.ContainsAny(version, ":/") {
			f.Packages = append(f.Packages, Package{Ecosystem: NPM, Name: name, Version: version})
		}
	}
	if len(lock.Packages) > 0 {
		for key, p := range lock.Packages {
			// "node_modules/a/node_modules/@scope/b" is @scope/b. Keys
			// without node_modules/ are the root ("") and workspace
			// folders, which are not installed from the registry.
			i := strings.LastIndex(key, "node_modules/")
			if i < 0 {
				continue
			}
			name := key[i+len("node_modules/"):]
			if p.Name != "" {
				name = p.Name
			}
			add(name, p.Version)
		}
		return nil
	}
	var walk func(deps map[string]lockDep)
	walk = func(deps map[string]lockDep) {
		for name, d := range deps {
			add(name, d.Version)
			walk(d.Dependencies)
		}
	}
	walk(lock.Dependencies)
	return nil
}
