package secret_test

import (
	"bytes"
	"testing"

	"github.com/berth-dev/berth/auth/secret"
)

// Open of arbitrary bytes never panics and never succeeds: without the
// master key nobody makes a value that opens. The seeds are well-formed
// values sealed under another master key, and damaged copies of them.
func FuzzOpen(f *testing.F) {
	s := newSealer(f, 42)
	other := newSealer(f, 43)
	for _, tt := range []struct{ plaintext, ad string }{
		{"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AKIAIOSFODNN7EXAMPLE"},
		{"", ""},
	} {
		sealed, err := other.Seal([]byte(tt.plaintext), []byte(tt.ad))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(sealed, []byte(tt.ad))
		f.Add(sealed[:len(sealed)-1], []byte(tt.ad))
		f.Add(append([]byte{2}, sealed[1:]...), []byte(tt.ad))
	}
	f.Add([]byte{}, []byte{})
	f.Add([]byte{1}, []byte("AKIAIOSFODNN7EXAMPLE"))
	f.Add(bytes.Repeat([]byte{1}, secret.Overhead), []byte{})
	f.Fuzz(func(t *testing.T, sealed, ad []byte) {
		if got, err := s.Open(sealed, ad); err == nil || got != nil {
			t.Fatalf("Open(%x, %q) = %q, %v; want ErrOpen", sealed, ad, got, err)
		}
	})
}
