package output

import (
	"fmt"
	"strings"

	"github.com/mattn/go-runewidth"
)

// Style is how a piece of text looks on a colour terminal.
type Style int

// The styles. Plain text is never coloured.
const (
	Plain Style = iota
	Bold
	Dim
	Red
	Yellow
	Green
	BoldRed
)

var sgr = map[Style]string{Bold: "1", Dim: "2", Red: "31", Yellow: "33", Green: "32", BoldRed: "1;31"}

// Paint returns text in style s when the printer is in colour.
func (p *Printer) Paint(s Style, text string) string {
	code, ok := sgr[s]
	if !p.color || !ok || text == "" {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

// Cell is one cell of a table: text and its style.
type Cell struct {
	Text  string
	Style Style
}

// Styled is a cell of text in style s.
func Styled(s Style, text string) Cell { return Cell{Text: text, Style: s} }

// TableData is a table to print: a header and rows of cells.
type TableData struct {
	header []string
	rows   [][]Cell
}

// NewTable starts a table with the column names in header.
func NewTable(header ...string) *TableData { return &TableData{header: header} }

// Row adds a row; each cell is a Cell, or a value printed as fmt.Sprint
// prints it.
func (t *TableData) Row(cells ...any) {
	row := make([]Cell, len(cells))
	for i, c := range cells {
		switch c := c.(type) {
		case Cell:
			row[i] = c
		case string:
			row[i] = Cell{Text: c}
		default:
			row[i] = Cell{Text: fmt.Sprint(c)}
		}
	}
	t.rows = append(t.rows, row)
}

// Len is the number of rows.
func (t *TableData) Len() int { return len(t.rows) }

// Table prints t with its columns aligned by the width people see, so
// colour codes never shift a column; the header is bold.
func (p *Printer) Table(t *TableData) error {
	widths := make([]int, len(t.header))
	measure := func(i int, s string) {
		if i < len(widths) {
			widths[i] = max(widths[i], runewidth.StringWidth(s))
		}
	}
	for i, h := range t.header {
		measure(i, h)
	}
	for _, r := range t.rows {
		for i, c := range r {
			measure(i, c.Text)
		}
	}
	var b strings.Builder
	line := func(cells []Cell) {
		for i, c := range cells {
			if i > 0 {
				b.WriteString("  ")
			}
			b.WriteString(p.Paint(c.Style, c.Text))
			if i < len(cells)-1 && i < len(widths) {
				b.WriteString(strings.Repeat(" ", widths[i]-runewidth.StringWidth(c.Text)))
			}
		}
		b.WriteString("\n")
	}
	head := make([]Cell, len(t.header))
	for i, h := range t.header {
		head[i] = Cell{Text: h, Style: Bold}
	}
	line(head)
	for _, r := range t.rows {
		line(r)
	}
	_, err := p.w.Write([]byte(b.String()))
	return err
}

// Fields prints name and value pairs one per line, the names aligned, for
// one thing described in full.
func (p *Printer) Fields(pairs ...[2]string) error {
	width := 0
	for _, f := range pairs {
		width = max(width, runewidth.StringWidth(f[0]))
	}
	var b strings.Builder
	for _, f := range pairs {
		b.WriteString(p.Paint(Bold, f[0]+":"))
		b.WriteString(strings.Repeat(" ", width-runewidth.StringWidth(f[0])+1))
		b.WriteString(f[1])
		b.WriteString("\n")
	}
	_, err := p.w.Write([]byte(b.String()))
	return err
}
