package ui

import (
	"fmt"
	"strconv"
	"time"
)

// Charts are drawn on the server as inline SVG: the geometry is worked
// out here and the template writes the elements, escaping every label.
// Each chart has a table of the same numbers for screen readers and for
// copying.

// chart is a bar chart, vertical (one bar a day) or horizontal (one bar
// a named thing).
type chart struct {
	// ID names the chart for aria-labelledby.
	ID, Title string
	Width     int
	Height    int
	Bars      []bar
	// Grid are the value lines across a vertical chart.
	Grid []gridLine
	// Horizontal charts have their labels at the left.
	Horizontal bool
	// Empty says why there is nothing to draw, when there is not.
	Empty string
}

// bar is one bar: its place, its label and its value as text.
type bar struct {
	Label, Value   string
	X, Y, W, H     float64
	TextX, TextY   float64
	ValueX, ValueY float64
	// Class colours the bar (a severity, or the default).
	Class string
	// Tick: a vertical chart labels only some days under the axis.
	Tick bool
}

// gridLine is a value line across a vertical chart with its label.
type gridLine struct {
	Y     float64
	Label string
}

// point is a value with its label, to be drawn.
type point struct {
	Label string
	Value int64
	Class string
}

// Layout of the charts, in SVG user units.
const (
	chartWidth  = 640
	dailyHeight = 200
	rowHeight   = 26
	// Vertical charts: room for the value labels at the left and the day
	// labels below.
	plotLeft, plotRight, plotTop, plotBottom = 64.0, 8.0, 12.0, 28.0
	// Horizontal charts: room for the names at the left, the values at
	// the right.
	labelWidth, valueWidth = 200.0, 90.0
)

// dailyChart draws one bar a day; format writes values.
func dailyChart(id, title string, days []point, format func(int64) string) chart {
	c := chart{ID: id, Title: title, Width: chartWidth, Height: dailyHeight}
	top := maxValue(days)
	if top == 0 {
		c.Empty = "Nothing in these " + strconv.Itoa(len(days)) + " days."
	}
	plotW, plotH := float64(chartWidth)-plotLeft-plotRight, float64(dailyHeight)-plotTop-plotBottom
	step := plotW / float64(max(len(days), 1))
	for i, p := range days {
		h := 0.0
		if top > 0 {
			h = float64(p.Value) / float64(top) * plotH
		}
		x := plotLeft + float64(i)*step
		c.Bars = append(c.Bars, bar{
			Label: p.Label, Value: format(p.Value), Class: "bar",
			X: x + step*0.15, W: step * 0.7, Y: plotTop + plotH - h, H: h,
			TextX: x + step/2, TextY: float64(dailyHeight) - 8,
			Tick: (len(days)-1-i)%7 == 0,
		})
	}
	for _, f := range []float64{0, 0.5, 1} {
		v := int64(float64(top) * f)
		if f == 0.5 && top < 2 {
			continue // it would repeat a label
		}
		c.Grid = append(c.Grid, gridLine{Y: plotTop + plotH - f*plotH, Label: format(v)})
	}
	return c
}

// rowsChart draws one horizontal bar a named thing.
func rowsChart(id, title string, rows []point, format func(int64) string, empty string) chart {
	c := chart{ID: id, Title: title, Width: chartWidth, Height: max(len(rows), 1)*rowHeight + 8, Horizontal: true}
	if len(rows) == 0 {
		c.Empty = empty
	}
	top := maxValue(rows)
	plotW := float64(chartWidth) - labelWidth - valueWidth
	for i, r := range rows {
		w := 0.0
		if top > 0 {
			w = float64(r.Value) / float64(top) * plotW
		}
		y := 4 + float64(i)*rowHeight
		class := r.Class
		if class == "" {
			class = "bar"
		}
		c.Bars = append(c.Bars, bar{
			Label: clip(r.Label, 28), Value: format(r.Value), Class: class,
			X: labelWidth, Y: y + 4, W: w, H: rowHeight - 8,
			TextX: labelWidth - 8, TextY: y + rowHeight/2 + 4,
			ValueX: labelWidth + w + 6, ValueY: y + rowHeight/2 + 4,
		})
	}
	return c
}

func maxValue(ps []point) int64 {
	var top int64
	for _, p := range ps {
		top = max(top, p.Value)
	}
	return top
}

// clip shortens a label to n characters.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// lastDays returns the n days up to today's, oldest first, each with the
// value values gives its midnight (UTC).
func lastDays(today time.Time, n int, values map[time.Time]int64) []point {
	out := make([]point, n)
	for i := range n {
		day := today.AddDate(0, 0, i-n+1)
		out[i] = point{Label: day.Format("Jan 2"), Value: values[day]}
	}
	return out
}

func count(n int64) string { return fmt.Sprint(n) }
