package stages

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/xuri/excelize/v2"
)

// Insight report files in the run folder.
const (
	InsightTextFile  = "insight_report.txt"
	InsightExcelFile = "insight_report.xlsx"
	InsightHTMLFile  = "insight_report.html"
)

// WriteReports writes the text, Excel and HTML reports into dir,
// each atomically (a temporary file renamed into place).
func (r *InsightResult) WriteReports(dir string) error {
	var txt bytes.Buffer
	if err := r.WriteText(&txt); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, InsightTextFile), txt.Bytes()); err != nil {
		return err
	}
	var x bytes.Buffer
	if err := r.WriteExcel(&x); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, InsightExcelFile), x.Bytes()); err != nil {
		return err
	}
	var h bytes.Buffer
	if err := r.WriteHTML(&h); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, InsightHTMLFile), h.Bytes())
}

func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// WriteExcel writes the workbook: one sheet per section (named by the
// section), a header row, numbers as numbers.
func (r *InsightResult) WriteExcel(w io.Writer) error {
	f := excelize.NewFile()
	defer f.Close()
	for i, s := range r.Sections {
		name := s.Name
		if len(name) > 31 {
			name = name[:31]
		}
		if i == 0 {
			if err := f.SetSheetName(f.GetSheetName(0), name); err != nil {
				return fmt.Errorf("insight workbook: %w", err)
			}
		} else if _, err := f.NewSheet(name); err != nil {
			return fmt.Errorf("insight workbook: sheet %s: %w", name, err)
		}
		header := make([]any, len(s.Columns))
		for j, c := range s.Columns {
			header[j] = c
		}
		if err := f.SetSheetRow(name, "A1", &header); err != nil {
			return fmt.Errorf("insight workbook: sheet %s: %w", name, err)
		}
		for k, cells := range s.Rows {
			row := make([]any, len(cells))
			copy(row, cells)
			cell, err := excelize.CoordinatesToCellName(1, k+2)
			if err != nil {
				return fmt.Errorf("insight workbook: %w", err)
			}
			if err := f.SetSheetRow(name, cell, &row); err != nil {
				return fmt.Errorf("insight workbook: sheet %s: %w", name, err)
			}
		}
	}
	if err := f.Write(w); err != nil {
		return fmt.Errorf("insight workbook: %w", err)
	}
	return nil
}

// svgBars draws a vertical bar chart: one bar per value, labels under
// every step-th bar.
func svgBars(b *strings.Builder, id, title string, labels []string, values []float64, step int, percent bool) {
	const w, h, left, bottom, top = 640.0, 240.0, 50.0, 40.0, 20.0
	maxV := 0.0
	for _, v := range values {
		maxV = math.Max(maxV, v)
	}
	if maxV == 0 {
		maxV = 1
	}
	fmt.Fprintf(b, `<svg id="%s" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`,
		id, w, h, w, h, html.EscapeString(title))
	fmt.Fprintf(b, `<title>%s</title>`, html.EscapeString(title))
	fmt.Fprintf(b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#444"/>`, left, h-bottom, w-10, h-bottom)
	fmt.Fprintf(b, `<text x="4" y="%.0f" font-size="10">%s</text>`, top+4, html.EscapeString(fmtNum(maxV, percent)))
	bw := (w - left - 10) / float64(len(values))
	for i, v := range values {
		bh := v / maxV * (h - bottom - top)
		x := left + float64(i)*bw
		fmt.Fprintf(b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#3b6ea8"><title>%s: %s</title></rect>`,
			x+1, h-bottom-bh, math.Max(bw-2, 1), bh, html.EscapeString(labels[i]), html.EscapeString(fmtNum(v, percent)))
		if step > 0 && i%step == 0 {
			fmt.Fprintf(b, `<text x="%.1f" y="%.0f" font-size="10">%s</text>`, x+1, h-bottom+14, html.EscapeString(labels[i]))
		}
	}
	b.WriteString(`</svg>`)
}

// truncateRunes shortens s to at most n characters (not bytes: a cut
// inside a multi-byte character would make the page invalid UTF-8), marking
// a cut with "…".
func truncateRunes(s string, n int) string {
	k := 0
	for i := range s {
		if k == n {
			return s[:i] + "…"
		}
		k++
	}
	return s
}

func fmtNum(v float64, percent bool) string {
	if percent {
		return fmt.Sprintf("%.1f%%", 100*v)
	}
	return fmt.Sprintf("%.0f", v)
}

// svgStacked draws one horizontal stacked bar per application: the band
// counts High, Medium, Low, Unscored.
func svgStacked(b *strings.Builder, id, title string, labels []string, parts [][4]float64) {
	const w, rowH, left = 640.0, 22.0, 170.0
	colors := [4]string{"#2e7d32", "#f9a825", "#c62828", "#9e9e9e"}
	names := [4]string{"High", "Medium", "Low", "Unscored"}
	h := rowH*float64(len(labels)) + 40
	maxT := 1.0
	for _, p := range parts {
		maxT = math.Max(maxT, p[0]+p[1]+p[2]+p[3])
	}
	fmt.Fprintf(b, `<svg id="%s" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`,
		id, w, h, w, h, html.EscapeString(title))
	fmt.Fprintf(b, `<title>%s</title>`, html.EscapeString(title))
	for k := range names {
		fmt.Fprintf(b, `<rect x="%.0f" y="4" width="10" height="10" fill="%s"/><text x="%.0f" y="13" font-size="10">%s</text>`,
			left+float64(k)*90, colors[k], left+float64(k)*90+14, names[k])
	}
	for i, p := range parts {
		y := 24 + float64(i)*rowH
		lbl := truncateRunes(labels[i], 28)
		fmt.Fprintf(b, `<text x="4" y="%.0f" font-size="11">%s</text>`, y+14, html.EscapeString(lbl))
		x := left
		for k, v := range p {
			bw := v / maxT * (w - left - 10)
			fmt.Fprintf(b, `<rect class="bar" x="%.1f" y="%.0f" width="%.1f" height="%.0f" fill="%s"><title>%s %s: %.0f</title></rect>`,
				x, y, bw, rowH-4, colors[k], html.EscapeString(labels[i]), names[k], v)
			x += bw
		}
	}
	b.WriteString(`</svg>`)
}

// WriteHTML writes the self-contained HTML page: the charts as inline SVG
// (score histogram, bands per application, coverage) and every section as
// a table. It names no external resource.
func (r *InsightResult) WriteHTML(w io.Writer) error {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>autoid insight report</title>\n")
	b.WriteString(`<style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:0.5em 0 1.5em}` +
		`th,td{border:1px solid #ccc;padding:2px 8px;font-size:13px}td.num{text-align:right}th{background:#eee}` +
		`h2{margin-top:1.5em;border-bottom:1px solid #aaa}svg{display:block;margin:0.5em 0}</style>`)
	b.WriteString("</head><body>\n<h1>Insight report</h1>\n")
	// Charts.
	b.WriteString(`<section id="charts"><h2>Charts</h2>`)
	b.WriteString("<h3>Score histogram (20 bins)</h3>")
	labels := make([]string, 20)
	vals := make([]float64, 20)
	for i, c := range r.Histogram {
		labels[i] = fmt.Sprintf("%.2f", float64(i)/20)
		vals[i] = float64(c)
	}
	svgBars(&b, "chart-histogram", "Scored valid assignments per score bin", labels, vals, 2, false)
	b.WriteString("<h3>Bands per application</h3>")
	if s := r.Section(SectionApplications); s != nil {
		var ls []string
		var ps [][4]float64
		for _, row := range s.Rows {
			name := cellText(row[0], true)
			if n := cellText(row[1], true); n != "" {
				name = n
			}
			if name == "" {
				name = "(no application)"
			}
			ls = append(ls, name)
			var p [4]float64
			for k := 0; k < 4; k++ {
				if v, ok := row[2+k].(int64); ok {
					p[k] = float64(v)
				}
			}
			ps = append(ps, p)
		}
		svgStacked(&b, "chart-bands", "Valid assignments per application and band", ls, ps)
	}
	b.WriteString("<h3>Coverage</h3>")
	if s := r.Section(SectionCoverage); s != nil {
		var ls []string
		var vs []float64
		for _, row := range s.Rows {
			ls = append(ls, cellText(row[0], true))
			v, _ := row[1].(float64)
			vs = append(vs, v)
		}
		svgBars(&b, "chart-coverage", "Coverage (share)", ls, vs, 1, true)
	}
	b.WriteString("</section>\n")
	// Tables.
	for _, s := range r.Sections {
		fmt.Fprintf(&b, `<section id="%s"><h2>%s</h2><table><thead><tr>`, html.EscapeString(s.Name), html.EscapeString(s.Title))
		for _, c := range s.Columns {
			fmt.Fprintf(&b, "<th>%s</th>", html.EscapeString(c))
		}
		b.WriteString("</tr></thead><tbody>")
		if len(s.Rows) == 0 {
			fmt.Fprintf(&b, `<tr><td colspan="%d">(none)</td></tr>`, len(s.Columns))
		}
		for _, row := range s.Rows {
			b.WriteString("<tr>")
			for _, c := range row {
				switch c.(type) {
				case int64, float64:
					fmt.Fprintf(&b, `<td class="num">%s</td>`, html.EscapeString(cellText(c, true)))
				default:
					fmt.Fprintf(&b, "<td>%s</td>", html.EscapeString(cellText(c, true)))
				}
			}
			b.WriteString("</tr>")
		}
		b.WriteString("</tbody></table></section>\n")
	}
	b.WriteString("</body></html>\n")
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("insight html: %w", err)
	}
	return nil
}
