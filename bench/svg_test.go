package bench

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"strings"
	"testing"
)

func TestBarChartWritesWellFormedSVG(t *testing.T) {
	for _, log := range []bool{false, true} {
		c := BarChart{
			Title:      `latency <broadcast> & "fan-out"`,
			Unit:       "ms",
			Categories: []string{"p50", "p99", "p99.9", "max"},
			Series:     []string{"comet", "base<line>"},
			Values:     [][]float64{{1, 2, 3, 40}, {2, math.NaN(), 9, 100}},
			Log:        log,
		}
		var buf bytes.Buffer
		if err := c.WriteSVG(&buf); err != nil {
			t.Fatal(err)
		}
		dec := xml.NewDecoder(bytes.NewReader(buf.Bytes()))
		rects, texts := 0, []string{}
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("log=%v: not well-formed XML: %v\n%s", log, err, buf.String())
			}
			switch el := tok.(type) {
			case xml.StartElement:
				if el.Name.Local == "rect" {
					rects++
				}
			case xml.CharData:
				texts = append(texts, string(el))
			}
		}
		all := strings.Join(texts, "|")
		for _, want := range []string{"comet", "base<line>", "p99.9", `latency <broadcast> & "fan-out"`} {
			if !strings.Contains(all, want) {
				t.Errorf("log=%v: text %q missing", log, want)
			}
		}
		// background + 7 bars (one NaN skipped) + 2 legend swatches
		if rects != 1+7+2 {
			t.Errorf("log=%v: %d rects, want 10", log, rects)
		}
	}
}

func TestBarChartEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := (BarChart{Title: "empty"}).WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(buf.Bytes(), new(struct{})); err != nil {
		t.Fatalf("empty chart not XML: %v", err)
	}
}
