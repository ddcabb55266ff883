// Package output is how berth's commands print what they learn: tables for
// people, and JSON or YAML in the AWS APIs' own shapes for programs, with
// colour and progress bars only where a person watches a terminal.
package output

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mattn/go-isatty"
	"gopkg.in/yaml.v3"
)

// Format is how a command prints data: --output's value.
type Format string

// The formats of --output.
const (
	Table Format = "table"
	JSON  Format = "json"
	YAML  Format = "yaml"
)

// formats are the values --output accepts, the default first.
var formats = []Format{Table, JSON, YAML}

// ParseFormat reads --output.
func ParseFormat(s string) (Format, error) {
	for _, f := range formats {
		if strings.EqualFold(s, string(f)) {
			return f, nil
		}
	}
	return "", fmt.Errorf("--output %q: one of table, json, yaml", s)
}

// Printer prints a command's results to one writer in one format.
type Printer struct {
	w      io.Writer
	format Format
	color  bool
}

// New returns a printer to w in format f, in colour when color is set
// (see [Colorful]).
func New(w io.Writer, f Format, color bool) *Printer {
	return &Printer{w: w, format: f, color: color}
}

// Print prints data, an AWS SDK output or any value, in the AWS shape (see
// [Shape]) for JSON and YAML; for a table it calls human, which prints
// what a person wants to read.
func (p *Printer) Print(data any, human func() error) error {
	switch p.format {
	case JSON:
		enc := json.NewEncoder(p.w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(Shape(data))
	case YAML:
		enc := yaml.NewEncoder(p.w)
		enc.SetIndent(2)
		if err := enc.Encode(Shape(data)); err != nil {
			return err
		}
		return enc.Close()
	}
	return human()
}

// Linef prints one line of text for a person.
func (p *Printer) Linef(format string, args ...any) {
	fmt.Fprintf(p.w, format+"\n", args...)
}

// Colorful reports whether w is a terminal that may show colour: a
// terminal, with NO_COLOR (https://no-color.org) unset or empty and TERM
// not "dumb".
func Colorful(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	return IsTerminal(w)
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// Format is the printer's format: a command whose table is a stream of
// lines (berth run's output) sends those lines elsewhere when the format
// is a document.
func (p *Printer) Format() Format { return p.format }
