package config_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/berth-dev/berth/internal/config"
)

// FuzzLoad feeds arbitrary files to Load: it never panics, and when it
// accepts a file every key in it is one the configuration knows.
func FuzzLoad(f *testing.F) {
	for _, seed := range []string{
		"",
		"listen: :5000\n",
		"listen: 127.0.0.1:6000\ndataDir: /data\nshutdownTimeout: 10s\n",
		"storage:\n  filesystem:\n    root: /blobs\nmetadata:\n  sqlite:\n    path: /db\n",
		"tls: {certFile: c.pem, keyFile: k.pem}\nlog: {level: debug, format: json}\n",
		"registry:\n  pullFlushInterval: 1s\n  catalogPageSize: 10\n",
		"bogus: 1\n",
		"storage:\n  s3:\n    bucket: b\n",
		"log: &l {level: warn}\nregistry: *l\n",
		"base: &b {listen: x}\n<<: *b\n",
		"<<: {listen: ':1', bogus: 2}\n",
		"<<: [{listen: ':1'}, {dataDir: d}]\n",
		"!!binary bGlzdGVu: x\n",
		"? [a, b]\n: c\n",
		"~: 1\n",
		"listen: a\n---\nbogus: 1\n",
		"---\n---\n",
		"- a\n- b\n",
		"listen: [unclosed\n",
		"\t- \xff\n",
		"&a {<<: *a}\n",
	} {
		f.Add([]byte(seed))
	}
	sections, leaves := knownKeys(reflect.TypeFor[config.Config](), "")
	// One file per process: a fuzz worker runs its inputs one at a time.
	path := filepath.Join(f.TempDir(), "berth.yml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(path, nil)
		if err != nil {
			return
		}
		if cfg == nil {
			t.Fatal("Load returned neither a config nor an error")
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var doc yaml.Node
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("Load accepted a file the YAML decoder refuses: %v", err)
			}
			if bad := unknownKeys(&doc, "", sections, leaves, 0); len(bad) > 0 {
				t.Fatalf("Load accepted unknown keys %q", bad)
			}
		}
	})
}

// knownKeys lists the dotted YAML paths of Config's sections (structs) and
// leaf fields.
func knownKeys(typ reflect.Type, prefix string) (sections, leaves map[string]bool) {
	sections, leaves = map[string]bool{}, map[string]bool{}
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("yaml"), ",")
		path := prefix + name
		if ft := typ.Field(i).Type; ft.Kind() == reflect.Struct && ft.PkgPath() == typ.PkgPath() {
			sections[path] = true
			s, l := knownKeys(ft, path+".")
			for k := range s {
				sections[k] = true
			}
			for k := range l {
				leaves[k] = true
			}
		} else {
			leaves[path] = true
		}
	}
	return sections, leaves
}

// unknownKeys returns the paths of the keys in n that are neither sections
// nor leaves, reading keys and merges (<<) the way the decoder does.
func unknownKeys(n *yaml.Node, prefix string, sections, leaves map[string]bool, depth int) []string {
	if depth > 16 {
		return nil // an alias cycle; the decoder refuses those itself
	}
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.DocumentNode:
		var bad []string
		for _, c := range n.Content {
			bad = append(bad, unknownKeys(c, prefix, sections, leaves, depth+1)...)
		}
		return bad
	case yaml.MappingNode:
	default:
		return nil
	}
	var bad []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge" {
			for v.Kind == yaml.AliasNode && v.Alias != nil {
				v = v.Alias
			}
			merged := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				merged = v.Content
			}
			for _, m := range merged {
				bad = append(bad, unknownKeys(m, prefix, sections, leaves, depth+1)...)
			}
			continue
		}
		var name string
		if err := k.Decode(&name); err != nil {
			bad = append(bad, prefix+"<"+k.ShortTag()+">")
			continue
		}
		switch path := prefix + name; {
		case sections[path]:
			bad = append(bad, unknownKeys(v, path+".", sections, leaves, depth+1)...)
		case !leaves[path]:
			bad = append(bad, path)
		}
	}
	return bad
}
