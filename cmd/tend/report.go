package main

import (
	"fmt"
	"html/template"
	"os"
	"sort"

	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/sim"
)

type reportBar struct {
	Label string
	Count int
	Width int
}

type reportData struct {
	Start, Until string
	Customers    int
	Records      int
	ByKind       []reportBar
	ByPlaybook   []reportBar
	ByAction     []reportBar
	ByMonth      []reportBar
}

var reportTmpl = template.Must(template.New("r").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>tend simulation report</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:60em}h2{margin-top:1.5em}
table{border-collapse:collapse}td{padding:2px 8px}.bar{background:#4c78a8;height:14px}</style></head>
<body><h1>Simulation report</h1>
<p>{{.Customers}} customers from {{.Start}} until {{.Until}}: {{.Records}} timeline records.</p>
{{define "bars"}}<table>{{range .}}<tr><td>{{.Label}}</td><td align="right">{{.Count}}</td><td><svg width="{{.Width}}" height="14"><rect class="bar" width="{{.Width}}" height="14" fill="#4c78a8"/></svg></td></tr>{{end}}</table>{{end}}
<h2>Runs started per playbook</h2>{{template "bars" .ByPlaybook}}
<h2>Outreach by action</h2>{{template "bars" .ByAction}}
<h2>Actions per month</h2>{{template "bars" .ByMonth}}
<h2>Records by kind</h2>{{template "bars" .ByKind}}
</body></html>
`))

func bars(m map[string]int, byLabel bool) []reportBar {
	out := make([]reportBar, 0, len(m))
	max := 1
	for k, v := range m {
		out = append(out, reportBar{Label: k, Count: v})
		if v > max {
			max = v
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if byLabel || out[i].Count == out[j].Count {
			return out[i].Label < out[j].Label
		}
		return out[i].Count > out[j].Count
	})
	for i := range out {
		out[i].Width = 1 + out[i].Count*400/max
	}
	return out
}

// writeReport writes an HTML summary of a simulation with bar charts.
func writeReport(path string, _ *lang.Set, in sim.Input, res *sim.Result) error {
	kinds, pbs, actions, months := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	for _, r := range res.Records {
		kinds[r.Kind]++
		switch r.Kind {
		case lang.RecRunStarted:
			pbs[r.Playbook]++
		case lang.RecAction:
			actions[r.Action]++
			months[r.At.Format("2006-01")]++
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	d := reportData{Start: in.Start.Format("2006-01-02"), Until: in.Until.Format("2006-01-02"), Customers: res.Customers, Records: len(res.Records),
		ByKind: bars(kinds, false), ByPlaybook: bars(pbs, false), ByAction: bars(actions, false), ByMonth: bars(months, true)}
	if err := reportTmpl.Execute(f, d); err != nil {
		f.Close()
		return fmt.Errorf("report: %w", err)
	}
	return f.Close()
}
