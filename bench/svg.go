package bench

import (
	"fmt"
	"html"
	"io"
	"math"
)

// BarChart is a grouped bar chart: one group per category, one bar per
// series in each group. It renders as standalone SVG with no dependency.
type BarChart struct {
	Title      string
	Unit       string
	Categories []string    // x-axis groups, for example p50, p99, p99.9, max
	Series     []string    // one bar per group each, for example targets
	Values     [][]float64 // Values[series][category]; NaN = missing
	Log        bool        // logarithmic y axis
}

var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"}

// WriteSVG renders c to w.
func (c BarChart) WriteSVG(w io.Writer) error {
	const (
		width, height = 760, 420
		left, right   = 70, 150
		top, bottom   = 40, 50
	)
	plotW, plotH := float64(width-left-right), float64(height-top-bottom)
	maxV, minV := 0.0, math.Inf(1)
	for _, s := range c.Values {
		for _, v := range s {
			if !math.IsNaN(v) && v > 0 {
				maxV = math.Max(maxV, v)
				minV = math.Min(minV, v)
			}
		}
	}
	if maxV == 0 {
		maxV, minV = 1, 1
	}
	step := niceStep(maxV * 1.1 / 5)
	lo, hi := 0.0, math.Ceil(maxV*1.1/step)*step
	scale := func(v float64) float64 { return (v - lo) / (hi - lo) }
	if c.Log {
		lo = math.Floor(math.Log10(minV))
		hi = math.Ceil(math.Log10(maxV) + 0.01)
		scale = func(v float64) float64 {
			if v <= 0 {
				return 0
			}
			return math.Max(0, (math.Log10(v)-lo)/(hi-lo))
		}
	}
	var err error
	p := func(format string, a ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, a...)
		}
	}
	esc := html.EscapeString
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	p(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	p(`<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", left, esc(c.Title))
	// Y axis with ticks.
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, top, left, height-bottom)
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, height-bottom, width-right, height-bottom)
	var ticks []float64
	if c.Log {
		for e := lo; e <= hi; e++ {
			ticks = append(ticks, math.Pow(10, e))
		}
	} else {
		for t := 0.0; t <= hi+step/2 && len(ticks) < 20; t += step {
			ticks = append(ticks, t)
		}
	}
	for _, t := range ticks {
		y := float64(height-bottom) - scale(t)*plotH
		p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", left, y, width-right, y)
		p(`<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", left-5, y+4, esc(formatMetric(t)))
	}
	p(`<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">%s</text>`+"\n", top+int(plotH)/2, top+int(plotH)/2, esc(c.Unit))
	groupW := plotW / float64(max(len(c.Categories), 1))
	barW := groupW * 0.8 / float64(max(len(c.Series), 1))
	for ci, cat := range c.Categories {
		gx := float64(left) + float64(ci)*groupW
		p(`<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", gx+groupW/2, height-bottom+18, esc(cat))
		for si := range c.Series {
			if si >= len(c.Values) || ci >= len(c.Values[si]) || math.IsNaN(c.Values[si][ci]) {
				continue
			}
			v := c.Values[si][ci]
			h := scale(v) * plotH
			x := gx + groupW*0.1 + float64(si)*barW
			p(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %s %s</title></rect>`+"\n",
				x, float64(height-bottom)-h, barW-1, h, palette[si%len(palette)], esc(c.Series[si]), esc(cat), esc(formatMetric(v)), esc(c.Unit))
			p(`<text x="%.1f" y="%.1f" text-anchor="middle" font-size="9">%s</text>`+"\n", x+barW/2, float64(height-bottom)-h-3, esc(formatMetric(v)))
		}
	}
	for si, s := range c.Series {
		y := top + 10 + si*20
		p(`<rect x="%d" y="%d" width="12" height="12" fill="%s"/>`+"\n", width-right+15, y-10, palette[si%len(palette)])
		p(`<text x="%d" y="%d">%s</text>`+"\n", width-right+32, y, esc(s))
	}
	p("</svg>\n")
	return err
}

// niceStep rounds raw up to 1, 2 or 5 times a power of ten, for axis ticks.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p
}
