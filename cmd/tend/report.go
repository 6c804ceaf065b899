package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"os"
	"slices"
	"sort"
	"time"

	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/sim"
)

// The report is one self-contained HTML file for planning: inline CSS and
// SVG, no scripts to run and nothing fetched. Its numbers are also in a JSON
// block (<script type="application/json" id="tend-report">, which browsers
// do not execute), so that tools and tests read them without scraping.

// Outreach channels, in display order: how each action reaches people.
var reportChannels = []string{"email", "survey", "invite", "chat", "webhook", "escalation"}

var channelOf = map[string]string{
	lang.ActionEmail: "email", lang.ActionSurvey: "survey", lang.ActionCall: "invite", lang.ActionTraining: "invite",
	lang.ActionNotify: "chat", lang.ActionWebhook: "webhook", lang.ActionEscalate: "escalation",
}

var channelColor = map[string]string{
	"email": "#4c78a8", "survey": "#72b7b2", "invite": "#f58518", "chat": "#b279a2", "webhook": "#9d755d", "escalation": "#e45756",
}

// Run outcomes, in display order.
var reportOutcomes = []string{"completed", "exited", "expired", "failed", "running"}

var outcomeOf = map[string]string{
	lang.RecRunCompleted: "completed", lang.RecRunExited: "exited", lang.RecRunExpired: "expired", lang.RecRunFailed: "failed",
}

var outcomeColor = map[string]string{
	"completed": "#54a24b", "exited": "#9d9d9d", "expired": "#f58518", "failed": "#e45756", "running": "#4c78a8",
}

// Caps on what the page lists; the JSON block has everything.
const (
	reportMaxOwners    = 12  // task owner columns; the rest are summed as "others"
	reportMaxHoldRows  = 25  // longest holds listed
	reportMaxCustomers = 200 // customers listed per playbook
)

// reportData is what the report shows, and the JSON block.
type reportData struct {
	Start      string         `json:"start"`
	Until      string         `json:"until"`
	Customers  int            `json:"customers"`
	Records    int            `json:"records"`
	Weeks      []string       `json:"weeks"` // the Monday (UTC) of every week from start to until
	Channels   []string       `json:"channels"`
	Outreach   []weekCounts   `json:"outreach"`
	OutPeak    peak           `json:"outreach_peak"`
	Owners     []string       `json:"owners"` // task owners, most tasks first
	Tasks      []weekCounts   `json:"tasks"`
	TaskPeak   peak           `json:"task_peak"`
	OwnerPeaks []ownerPeak    `json:"owner_peaks"`
	Funnel     []funnelRow    `json:"funnel"`
	Holds      holdSummary    `json:"holds"`
	Touched    []touchedGroup `json:"touched"`
}

// weekCounts counts things in one week by a key (a channel or an owner).
type weekCounts struct {
	Week   string         `json:"week"`
	Counts map[string]int `json:"counts"`
	Total  int            `json:"total"`
}

type peak struct {
	Week  string `json:"week"`
	Count int    `json:"count"`
}

type ownerPeak struct {
	Owner string `json:"owner"`
	Total int    `json:"total"`
	Peak  peak   `json:"peak"`
}

type funnelRow struct {
	Playbook  string `json:"playbook"`
	Entered   int    `json:"entered"`
	Completed int    `json:"completed"`
	Exited    int    `json:"exited"`
	Expired   int    `json:"expired"`
	Failed    int    `json:"failed"`
	Running   int    `json:"running"`   // not ended by until
	Escalated int    `json:"escalated"` // runs with at least one escalation
}

type holdSummary struct {
	Count         int        `json:"count"`
	Dropped       int        `json:"dropped"` // never sent: the run ended (or the customer opted out) first, or the simulation did
	MedianSeconds int64      `json:"median_seconds"`
	MaxSeconds    int64      `json:"max_seconds"`
	Buckets       []bucket   `json:"buckets"`
	ByStep        []holdStep `json:"by_step"`
	Items         []holdItem `json:"items"`
}

// holdStep sums up the holds of one step of a playbook.
type holdStep struct {
	Playbook      string `json:"playbook"`
	Step          string `json:"step"`
	Action        string `json:"action"`
	Count         int    `json:"count"`
	Dropped       int    `json:"dropped"`
	MedianSeconds int64  `json:"median_seconds"`
	MaxSeconds    int64  `json:"max_seconds"`
}

type bucket struct {
	Label string `json:"label"`
	Count int    `json:"count"`
}

type holdItem struct {
	Customer string `json:"customer"`
	Playbook string `json:"playbook"`
	Step     string `json:"step"`
	Action   string `json:"action"`
	Reached  string `json:"reached"`
	Until    string `json:"until"`
	Seconds  int64  `json:"seconds"`
	Dropped  bool   `json:"dropped,omitempty"`
}

type touchedGroup struct {
	Playbook  string            `json:"playbook"`
	Customers []touchedCustomer `json:"customers"`
}

type touchedCustomer struct {
	ID      string `json:"id"`
	Runs    int    `json:"runs"`
	Outcome string `json:"outcome"` // of the customer's last run
}

// holdBuckets are the ranges of the held-time histogram.
var holdBuckets = []struct {
	label string
	upTo  time.Duration
}{
	{"under 1 h", time.Hour}, {"1-12 h", 12 * time.Hour}, {"12-24 h", 24 * time.Hour},
	{"1-3 days", 72 * time.Hour}, {"3 days or more", 1 << 62},
}

// buildReport computes the report's numbers from a simulation.
func buildReport(in sim.Input, res *sim.Result) reportData {
	d := reportData{Start: in.Start.UTC().Format(time.RFC3339), Until: in.Until.UTC().Format(time.RFC3339),
		Customers: res.Customers, Records: len(res.Records), Channels: reportChannels}
	for w := weekOf(in.Start); w.Before(in.Until); w = w.AddDate(0, 0, 7) {
		d.Weeks = append(d.Weeks, w.Format("2006-01-02"))
	}
	outreach, tasks := map[string]map[string]int{}, map[string]map[string]int{}
	ownerTotal := map[string]int{}
	funnel := map[string]*funnelRow{}
	escalated := map[string]bool{}
	type cust struct {
		runs    int
		outcome string
	}
	touched := map[string]map[string]*cust{}
	runOutcome := map[string]string{}
	count := func(m map[string]map[string]int, week, key string) {
		if m[week] == nil {
			m[week] = map[string]int{}
		}
		m[week][key]++
	}
	for _, r := range res.Records {
		if r.Playbook != "" && funnel[r.Playbook] == nil {
			funnel[r.Playbook] = &funnelRow{Playbook: r.Playbook}
		}
		week := weekOf(r.At).Format("2006-01-02")
		switch r.Kind {
		case lang.RecRunStarted:
			funnel[r.Playbook].Entered++
			if touched[r.Playbook] == nil {
				touched[r.Playbook] = map[string]*cust{}
			}
			c := touched[r.Playbook][r.Customer]
			if c == nil {
				c = &cust{}
				touched[r.Playbook][r.Customer] = c
			}
			c.runs++
			c.outcome = "running"
			runOutcome[r.Run] = "running"
		case lang.RecRunCompleted, lang.RecRunExited, lang.RecRunExpired, lang.RecRunFailed:
			o := outcomeOf[r.Kind]
			f := funnel[r.Playbook]
			switch o {
			case "completed":
				f.Completed++
			case "exited":
				f.Exited++
			case "expired":
				f.Expired++
			case "failed":
				f.Failed++
			}
			runOutcome[r.Run] = o
			if c := touched[r.Playbook][r.Customer]; c != nil {
				c.outcome = o
			}
		case lang.RecAction:
			if ch, ok := channelOf[r.Action]; ok {
				count(outreach, week, ch)
			}
			if lang.IsTask(r.Action) && r.Owner != "" {
				count(tasks, week, r.Owner)
				ownerTotal[r.Owner]++
			}
			if r.Action == lang.ActionEscalate && !escalated[r.Run] {
				escalated[r.Run] = true
				funnel[r.Playbook].Escalated++
			}
		}
	}
	for _, pb := range sortedKeys(funnel) {
		f := funnel[pb]
		f.Running = f.Entered - f.Completed - f.Exited - f.Expired - f.Failed
		d.Funnel = append(d.Funnel, *f)
	}
	d.Outreach, d.OutPeak = perWeek(d.Weeks, outreach)
	d.Tasks, d.TaskPeak = perWeek(d.Weeks, tasks)
	for o := range ownerTotal {
		d.Owners = append(d.Owners, o)
	}
	sort.Slice(d.Owners, func(i, j int) bool {
		a, b := d.Owners[i], d.Owners[j]
		if ownerTotal[a] != ownerTotal[b] {
			return ownerTotal[a] > ownerTotal[b]
		}
		return a < b
	})
	for _, o := range d.Owners {
		op := ownerPeak{Owner: o, Total: ownerTotal[o]}
		for _, w := range d.Tasks {
			if n := w.Counts[o]; n > op.Peak.Count {
				op.Peak = peak{Week: w.Week, Count: n}
			}
		}
		d.OwnerPeaks = append(d.OwnerPeaks, op)
	}
	d.Holds = summarizeHolds(res.Records)
	for _, pb := range sortedKeys(touched) {
		g := touchedGroup{Playbook: pb}
		for _, id := range sortedKeys(touched[pb]) {
			c := touched[pb][id]
			g.Customers = append(g.Customers, touchedCustomer{ID: id, Runs: c.runs, Outcome: c.outcome})
		}
		d.Touched = append(d.Touched, g)
	}
	return d
}

// perWeek lists the counts of every week, and the busiest week (the first,
// on a tie).
func perWeek(weeks []string, m map[string]map[string]int) ([]weekCounts, peak) {
	var out []weekCounts
	var p peak
	for _, w := range weeks {
		wc := weekCounts{Week: w, Counts: map[string]int{}}
		for k, n := range m[w] {
			wc.Counts[k] = n
			wc.Total += n
		}
		if wc.Total > p.Count {
			p = peak{Week: w, Count: wc.Total}
		}
		out = append(out, wc)
	}
	return out, p
}

// summarizeHolds sums up the message.held records of a timeline. Each
// is matched to the action record of its run and step that follows it,
// when the message went out; a run that ended first, or a customer who
// opted out meanwhile, leaves it unmatched: dropped.
func summarizeHolds(records []lang.Record) holdSummary {
	var s holdSummary
	for _, b := range holdBuckets {
		s.Buckets = append(s.Buckets, bucket{Label: b.label})
	}
	pending := map[string][]int{} // run + step: the held items not yet sent, in order
	for _, r := range records {
		k := r.Run + "\x00" + r.Step
		switch {
		case r.Kind == lang.RecMessageHeld && r.Until != nil:
			held := r.Until.Sub(r.At)
			pending[k] = append(pending[k], len(s.Items))
			s.Items = append(s.Items, holdItem{Customer: r.Customer, Playbook: r.Playbook, Step: r.Step, Action: r.Action,
				Reached: r.At.UTC().Format(time.RFC3339), Until: r.Until.UTC().Format(time.RFC3339),
				Seconds: int64(held / time.Second), Dropped: true})
		case len(pending[k]) > 0 && (r.Kind == lang.RecAction && r.Action == s.Items[pending[k][0]].Action || r.Kind == lang.RecStepSkipped):
			s.Items[pending[k][0]].Dropped = r.Kind == lang.RecStepSkipped
			pending[k] = pending[k][1:]
		}
	}
	s.Count = len(s.Items)
	var secs []int64
	steps := map[string]*holdStep{}
	stepSecs := map[string][]int64{}
	for _, it := range s.Items {
		k := it.Playbook + "\x00" + it.Step
		st := steps[k]
		if st == nil {
			st = &holdStep{Playbook: it.Playbook, Step: it.Step, Action: it.Action}
			steps[k] = st
		}
		st.Count++
		if it.Dropped {
			s.Dropped++
			st.Dropped++
		}
		for i, b := range holdBuckets {
			if time.Duration(it.Seconds)*time.Second < b.upTo {
				s.Buckets[i].Count++
				break
			}
		}
		secs = append(secs, it.Seconds)
		stepSecs[k] = append(stepSecs[k], it.Seconds)
	}
	s.MedianSeconds, s.MaxSeconds = medianMax(secs)
	for _, k := range sortedKeys(steps) {
		st := steps[k]
		st.MedianSeconds, st.MaxSeconds = medianMax(stepSecs[k])
		s.ByStep = append(s.ByStep, *st)
	}
	return s
}

// medianMax returns the median (the upper one of an even count) and the
// largest of secs, which it sorts.
func medianMax(secs []int64) (int64, int64) {
	if len(secs) == 0 {
		return 0, 0
	}
	slices.Sort(secs)
	return secs[len(secs)/2], secs[len(secs)-1]
}

// weekOf returns the Monday 00:00 UTC of t's week.
func weekOf(t time.Time) time.Time {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// writeReport writes the planning report of a simulation to path.
func writeReport(path string, _ *lang.Set, in sim.Input, res *sim.Result) error {
	d := buildReport(in, res)
	// encoding/json writes < > & as \u003c and so on: the block cannot end early.
	js, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	var page bytes.Buffer
	if err := reportTmpl.Execute(&page, reportPage{D: d, JSON: template.JS(js)}); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := os.WriteFile(path, page.Bytes(), 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// reportPage is what the template renders: the numbers and their JSON.
type reportPage struct {
	D    reportData
	JSON template.JS
}

// Template helpers: the page's derived views of reportData.
var reportFuncs = template.FuncMap{
	"day": func(s string) string {
		t, _ := time.Parse(time.RFC3339, s)
		return t.Format("Mon 2 Jan 2006 15:04") + " UTC"
	},
	"date":      func(s string) string { t, _ := time.Parse(time.RFC3339, s); return t.Format("2 Jan 2006") },
	"week":      func(s string) string { t, _ := time.Parse("2006-01-02", s); return "week of " + t.Format("2 Jan 2006") },
	"weekShort": func(s string) string { t, _ := time.Parse("2006-01-02", s); return t.Format("2 Jan 06") },
	"dur":       func(sec int64) string { return humanDuration(time.Duration(sec) * time.Second) },
	"color":     func(k string) template.CSS { return template.CSS(channelColor[k] + outcomeColor[k]) },
	"plural":    func(n int, one, many string) string { return plural(n, one, many) },
	"chanTotal": func(d reportData, ch string) int {
		n := 0
		for _, w := range d.Outreach {
			n += w.Counts[ch]
		}
		return n
	},
	"sumTotals": func(ws []weekCounts) int {
		n := 0
		for _, w := range ws {
			n += w.Total
		}
		return n
	},
	// segments lays out a stacked bar: each key's share of max, in pixels.
	"segments": func(counts map[string]int, keys []string, max, width int) []segment {
		var out []segment
		x := 0
		for _, k := range keys {
			n := counts[k]
			if n == 0 || max == 0 {
				continue
			}
			w := n * width / max
			if w < 1 {
				w = 1
			}
			out = append(out, segment{Key: k, Count: n, X: x, W: w})
			x += w
		}
		return out
	},
	"outcomeCounts": func(f funnelRow) map[string]int {
		return map[string]int{"completed": f.Completed, "exited": f.Exited, "expired": f.Expired, "failed": f.Failed, "running": f.Running}
	},
	"runs": func(fs []funnelRow) int {
		n := 0
		for _, f := range fs {
			n += f.Entered
		}
		return n
	},
	"maxEntered": func(fs []funnelRow) int {
		m := 0
		for _, f := range fs {
			m = max(m, f.Entered)
		}
		return m
	},
	"ownerCols": func(d reportData) []string {
		if len(d.Owners) <= reportMaxOwners {
			return d.Owners
		}
		return d.Owners[:reportMaxOwners-1]
	},
	"others": func(d reportData, w weekCounts) int {
		if len(d.Owners) <= reportMaxOwners {
			return -1
		}
		n := 0
		for _, o := range d.Owners[reportMaxOwners-1:] {
			n += w.Counts[o]
		}
		return n
	},
	"maxCell": func(ws []weekCounts) int {
		m := 0
		for _, w := range ws {
			for _, n := range w.Counts {
				m = max(m, n)
			}
		}
		return m
	},
	// heat shades a cell by its share of the busiest cell.
	"heat": func(n, max int) template.CSS {
		if n == 0 || max == 0 {
			return ""
		}
		return template.CSS(fmt.Sprintf("background:rgba(245,133,24,%.2f)", 0.12+0.68*float64(n)/float64(max)))
	},
	"isPeak": func(d reportData, owner, week string) bool {
		for _, p := range d.OwnerPeaks {
			if p.Owner == owner {
				return p.Peak.Week == week
			}
		}
		return false
	},
	"longest": func(items []holdItem) []holdItem {
		items = slices.Clone(items)
		sort.SliceStable(items, func(i, j int) bool { return items[i].Seconds > items[j].Seconds })
		if len(items) > reportMaxHoldRows {
			items = items[:reportMaxHoldRows]
		}
		return items
	},
	"maxBucket": func(bs []bucket) int {
		m := 0
		for _, b := range bs {
			m = max(m, b.Count)
		}
		return m
	},
	"width": func(n, max, width int) int {
		if n == 0 || max == 0 {
			return 0
		}
		return max1(n * width / max)
	},
	"firstN": func(cs []touchedCustomer) []touchedCustomer {
		if len(cs) > reportMaxCustomers {
			return cs[:reportMaxCustomers]
		}
		return cs
	},
	"sub":      func(a, b int) int { return a - b },
	"outcomes": func() []string { return reportOutcomes },
}

// segment is one part of a stacked bar, in pixels.
type segment struct {
	Key   string
	Count int
	X, W  int
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

// humanDuration says a held time the way a planner reads it: 2 d 13 h, 11 h 30 min, 45 min.
func humanDuration(d time.Duration) string {
	d = d.Round(time.Minute)
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case days > 0 && hours > 0:
		return fmt.Sprintf("%d d %d h", days, hours)
	case days > 0:
		return fmt.Sprintf("%d d", days)
	case hours > 0 && mins > 0:
		return fmt.Sprintf("%d h %d min", hours, mins)
	case hours > 0:
		return fmt.Sprintf("%d h", hours)
	}
	return fmt.Sprintf("%d min", mins)
}

var reportTmpl = template.Must(template.New("report").Funcs(reportFuncs).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tend simulation report</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;margin:2em auto;max-width:72em;padding:0 1.5em}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;margin:2em 0 .4em;border-bottom:1px solid #ddd;padding-bottom:.2em}
p.lead{color:#555;margin-top:0}.note{color:#666;font-size:.9em}
.cards{display:flex;flex-wrap:wrap;gap:.8em;margin:1em 0}.card{border:1px solid #ddd;border-radius:6px;padding:.5em .9em;min-width:8em}
.card b{display:block;font-size:1.5em}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-size:13px}th,td{padding:3px 8px;text-align:right;white-space:nowrap}
th{background:#f4f4f4;font-weight:600}td.l,th.l{text-align:left}tr:nth-child(even) td{background-color:#fafafa}
td.z{color:#bbb}td.peak{font-weight:700;outline:2px solid #c0392b;outline-offset:-2px}
.legend span{display:inline-block;margin-right:1em}.sw{display:inline-block;width:.9em;height:.9em;vertical-align:-.1em;margin-right:.3em;border-radius:2px}
.tag{display:inline-block;border-radius:3px;padding:0 .35em;margin:1px 2px;font-size:12px;color:#fff}
svg{vertical-align:middle}
</style></head>
<body>
{{- $d := .D}}
<h1>Simulation report</h1>
<p class="lead">{{$d.Customers}} {{plural $d.Customers "customer" "customers"}} from {{date $d.Start}} until {{date $d.Until}} ({{len $d.Weeks}} {{plural (len $d.Weeks) "week" "weeks"}}): {{$d.Records}} timeline records. Weeks start on Monday, UTC.</p>
<div class="cards">
<div class="card"><b>{{runs $d.Funnel}}</b>runs of {{len $d.Funnel}} {{plural (len $d.Funnel) "playbook" "playbooks"}}</div>
<div class="card"><b>{{sumTotals $d.Outreach}}</b>outreach messages</div>
<div class="card"><b>{{sumTotals $d.Tasks}}</b>tasks opened</div>
<div class="card"><b>{{$d.Holds.Count}}</b>held by the contact policy</div>
</div>

<h2 id="outreach">Outreach per week, by channel</h2>
<p>{{if $d.OutPeak.Count}}Busiest: the {{week $d.OutPeak.Week}}, with {{$d.OutPeak.Count}} {{plural $d.OutPeak.Count "message" "messages"}}.{{else}}No outreach.{{end}}
<span class="note">Invites are calls and trainings; chat is notify; escalations reach a manager by email or chat and open a task.</span></p>
<p class="legend">{{range $d.Channels}}<span><i class="sw" style="background:{{color .}}"></i>{{.}}</span>{{end}}</p>
<div class="scroll"><table>
<tr><th class="l">week</th><th class="l"></th>{{range $d.Channels}}<th>{{.}}</th>{{end}}<th>total</th></tr>
{{- range $d.Outreach}}{{$w := .}}
<tr data-week="{{.Week}}"><td class="l">{{weekShort .Week}}</td><td class="l"><svg width="300" height="14" role="img" aria-label="{{.Total}} messages">{{range segments .Counts $d.Channels $d.OutPeak.Count 300}}<rect x="{{.X}}" width="{{.W}}" height="14" fill="{{color .Key}}"><title>{{.Key}}: {{.Count}}</title></rect>{{end}}</svg></td>
{{- range $d.Channels}}{{$n := index $w.Counts .}}<td{{if not $n}} class="z"{{end}}>{{$n}}</td>{{end}}<td><b>{{.Total}}</b></td></tr>
{{- end}}
<tr><th class="l">total</th><th></th>{{range $d.Channels}}<th>{{chanTotal $d .}}</th>{{end}}<th>{{sumTotals $d.Outreach}}</th></tr>
</table></div>

<h2 id="tasks">Tasks per owner per week</h2>
{{- if $d.TaskPeak.Count}}
<p>Peak week: the <b>{{week $d.TaskPeak.Week}}</b>, with {{$d.TaskPeak.Count}} {{plural $d.TaskPeak.Count "task" "tasks"}} opened.
<span class="note">Calls, trainings, to-dos and escalations, counted in the week they are opened; each owner's busiest week is outlined.</span></p>
<ul>{{range $d.OwnerPeaks}}<li>{{.Owner}}: {{.Total}} {{plural .Total "task" "tasks"}}, at most {{.Peak.Count}} in the {{week .Peak.Week}}</li>{{end}}</ul>
{{- $max := maxCell $d.Tasks}}
<div class="scroll"><table>
<tr><th class="l">week</th>{{range ownerCols $d}}<th>{{.}}</th>{{end}}{{if gt (len $d.Owners) (len (ownerCols $d))}}<th>others</th>{{end}}<th>total</th></tr>
{{- range $d.Tasks}}{{$w := .}}
<tr data-week="{{.Week}}"><td class="l">{{weekShort .Week}}</td>
{{- range ownerCols $d}}{{$n := index $w.Counts .}}<td{{if isPeak $d . $w.Week}} class="peak"{{else if not $n}} class="z"{{end}} style="{{heat $n $max}}">{{$n}}</td>{{end}}
{{- $o := others $d $w}}{{if ge $o 0}}<td>{{$o}}</td>{{end}}<td{{if eq .Week $d.TaskPeak.Week}} class="peak"{{end}}><b>{{.Total}}</b></td></tr>
{{- end}}
</table></div>
{{- else}}
<p>No tasks were opened.</p>
{{- end}}

<h2 id="funnel">Playbook funnels</h2>
<p class="note">Runs that entered each playbook and how they ended by the end of the simulation; escalated counts runs with at least one escalation, whatever their end.</p>
<p class="legend">{{range outcomes}}<span><i class="sw" style="background:{{color .}}"></i>{{.}}</span>{{end}}</p>
{{- $fmax := maxEntered $d.Funnel}}
<div class="scroll"><table>
<tr><th class="l">playbook</th><th class="l"></th><th>entered</th><th>completed</th><th>exited</th><th>expired</th><th>failed</th><th>running</th><th>escalated</th></tr>
{{- range $d.Funnel}}
<tr data-playbook="{{.Playbook}}"><td class="l">{{.Playbook}}</td><td class="l"><svg width="240" height="14" role="img" aria-label="{{.Entered}} runs">{{range segments (outcomeCounts .) outcomes $fmax 240}}<rect x="{{.X}}" width="{{.W}}" height="14" fill="{{color .Key}}"><title>{{.Key}}: {{.Count}}</title></rect>{{end}}</svg></td>
<td><b>{{.Entered}}</b></td><td>{{.Completed}}</td><td>{{.Exited}}</td><td>{{.Expired}}</td><td>{{.Failed}}</td><td>{{.Running}}</td><td>{{.Escalated}}</td></tr>
{{- end}}
</table></div>

<h2 id="holds">Held by the contact policy</h2>
{{- with $d.Holds}}
{{- if .Count}}
<p>{{.Count}} customer {{plural .Count "message was" "messages were"}} held for the contact policy's hours or weekly cap: half for at most {{dur .MedianSeconds}}, the longest for {{dur .MaxSeconds}}.
{{- if .Dropped}} {{.Dropped}} never went out: their run ended first.{{end}}</p>
{{- $bmax := maxBucket .Buckets}}
<table>{{range .Buckets}}<tr><td class="l">{{.Label}}</td><td>{{.Count}}</td><td class="l"><svg width="{{width .Count $bmax 300}}" height="12"><rect width="{{width .Count $bmax 300}}" height="12" fill="#4c78a8"/></svg></td></tr>{{end}}</table>
<h3>By step</h3>
<table>
<tr><th class="l">playbook</th><th class="l">step</th><th class="l">message</th><th>held</th><th>median</th><th>longest</th><th>never sent</th></tr>
{{- range .ByStep}}
<tr data-playbook="{{.Playbook}}" data-step="{{.Step}}"><td class="l">{{.Playbook}}</td><td class="l">{{.Step}}</td><td class="l">{{.Action}}</td><td><b>{{.Count}}</b></td><td>{{dur .MedianSeconds}}</td><td>{{dur .MaxSeconds}}</td><td{{if not .Dropped}} class="z"{{end}}>{{.Dropped}}</td></tr>
{{- end}}
</table>
<h3>The longest holds</h3>
<div class="scroll"><table>
<tr><th class="l">customer</th><th class="l">playbook</th><th class="l">step</th><th class="l">message</th><th class="l">step reached</th><th class="l">went out</th><th>held for</th></tr>
{{- range longest .Items}}
<tr><td class="l">{{.Customer}}</td><td class="l">{{.Playbook}}</td><td class="l">{{.Step}}</td><td class="l">{{.Action}}</td><td class="l">{{day .Reached}}</td><td class="l">{{if .Dropped}}never (run ended){{else}}{{day .Until}}{{end}}</td><td>{{dur .Seconds}}</td></tr>
{{- end}}
</table></div>
{{- if gt .Count (len (longest .Items))}}<p class="note">{{sub .Count (len (longest .Items))}} shorter holds are not listed.</p>{{end}}
{{- else}}
<p>No message was held: everything went out when its step was reached.</p>
{{- end}}
{{- end}}

<h2 id="customers">Customers each playbook touched</h2>
<p class="note">Each customer once per playbook, colored by how its last run of that playbook ended; a number is the count of its runs.</p>
<table>
<tr><th class="l">playbook</th><th>customers</th><th class="l"></th></tr>
{{- range $d.Touched}}
<tr data-playbook="{{.Playbook}}"><td class="l" style="vertical-align:top">{{.Playbook}}</td><td style="vertical-align:top">{{len .Customers}}</td><td class="l" style="white-space:normal">
{{- range firstN .Customers}}<span class="tag" style="background:{{color .Outcome}}" title="{{.Outcome}}">{{.ID}}{{if gt .Runs 1}} ×{{.Runs}}{{end}}</span>{{end}}
{{- if gt (len .Customers) (len (firstN .Customers))}} <span class="note">and {{sub (len .Customers) (len (firstN .Customers))}} more</span>{{end}}</td></tr>
{{- end}}
</table>

<script type="application/json" id="tend-report">
{{.JSON}}</script>
</body></html>
`))
