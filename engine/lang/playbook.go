package lang

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tend-cs/tend/engine/calendar"
	"github.com/tend-cs/tend/engine/tendfmt"
	"gopkg.in/yaml.v3"
)

// DefaultDue is the due time of a task that names none.
var DefaultDue = calendar.Duration{BusinessDays: 2}

// Step is one compiled step. Blocks are referenced by index into Playbook.Blocks.
type Step struct {
	ID   string
	Path string
	Pos  tendfmt.Pos
	When *Expr
	Kind StepKind

	Do          string
	To          *Expr
	Cc          []*Expr
	Template    *Template
	Subject     *Text
	Body        *Text
	SurveyKind  string
	SurveyPos   tendfmt.Pos // where kind: is, for Load's check of the schema
	Title       *Text
	Description *Text
	Topic       *Text
	Reason      *Text
	Text        *Text
	Attendees   []*Expr
	Duration    time.Duration
	Due         calendar.Duration
	Overdue     int // block index, or -1
	WaitTask    bool
	Owner       *Expr
	ReplyTo     *Expr // email and survey; the playbook's reply_to unless the step has one
	Channel     string
	ChannelPos  tendfmt.Pos
	Endpoint    string
	EndpointPos tendfmt.Pos
	Fields      []BodyField
	Set         []SetField
	Stage       string
	// Unsubscribe: the message carries a one-click unsubscribe link and is
	// never sent to a customer who opted out of email (email_opt_out).
	// A step's own unsubscribe: key, else its playbook's.
	Unsubscribe bool

	Wait calendar.Duration

	Until     *Expr
	Timeout   calendar.Duration
	OnTimeout int // block index, or -1

	Cond *Expr
	Then int // block index, or -1
	Else int // block index, or -1

	Every       calendar.Duration
	Times       int
	RepeatUntil *Expr
	Steps       int // block index of a repeat's body

	StopReason *Text
}

// BodyField is one key of a webhook body.
type BodyField struct {
	Key  string
	Text *Text
}

// SetField is one attribute assignment of `do: update`.
type SetField struct {
	Attr string
	X    *Expr
}

// Trigger says when a playbook starts.
type Trigger struct {
	On      []string
	Daily   bool
	When    *Expr
	OncePer *Expr
}

// Playbook is a compiled playbook, pinned to its version.
type Playbook struct {
	Name        string
	Description string
	File        string
	Version     string
	Stage       string
	Owner       *Expr
	ReplyTo     *Expr // the Reply-To of the playbook's email and survey steps
	Trigger     Trigger
	ExitWhen    *Expr
	Expires     calendar.Duration
	Unsubscribe bool      // unsubscribe: true, the default of its email and survey steps
	Blocks      [][]*Step // Blocks[0] is the top-level steps
	Templates   []string
	steps       map[string]*Step
}

// Step returns the step with the given id, or nil.
func (p *Playbook) Step(id string) *Step { return p.steps[id] }

// Template is a message template: a subject and a Markdown body.
type Template struct {
	Name    string
	File    string
	Subject *Text
	Body    *Text
	source  []byte
}

var (
	playbookNameRe = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	stepIDRe       = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)
	endpointRe     = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
)

var playbookKeys = []string{"playbook", "description", "stage", "owner", "reply_to", "trigger", "exit_when", "expires", "unsubscribe", "steps"}

// MaxSteps caps the steps in one playbook, nested ones included.
const MaxSteps = 500

type pbParser struct {
	schema    *Schema
	templates map[string]*Template
	pb        *Playbook
	trig      *exprEnv
	run       *exprEnv
	errs      *tendfmt.ErrorList
	ids       map[string]tendfmt.Pos
	count     int
	prefix    string
	unknown   []string // the current step's unknown keys
	src       *tendfmt.Source
}

// ParsePlaybook compiles one playbook file against a schema and templates.
func ParsePlaybook(file string, data []byte, s *Schema, templates map[string]*Template, runEnv *exprEnv, errs *tendfmt.ErrorList) *Playbook {
	root := tendfmt.Parse(file, data, errs)
	if root == nil {
		return nil
	}
	n := tendfmt.Node{Node: root, File: file}
	pb := &Playbook{File: file, steps: map[string]*Step{}}
	p := &pbParser{schema: s, templates: templates, pb: pb, errs: errs, ids: map[string]tendfmt.Pos{}, run: runEnv, prefix: "playbook", src: tendfmt.NewSource(file, data)}
	f := n.Fields("playbook", playbookKeys, errs)
	if f == nil {
		return nil
	}
	topKeys := tendfmt.MappingKeys(n)
	if v, ok := f["playbook"]; ok {
		if name, ok := v.Value.Str("playbook", errs); ok {
			if !playbookNameRe.MatchString(name) {
				errs.Add(v.Value.Pos(), "playbook name %q must be kebab-case: lower-case letters and digits joined by -%s", name, kebabHint(name))
			}
			pb.Name = name
			p.prefix = "playbook " + name
		}
	} else if !misspelled(topKeys, "playbook") {
		errs.Add(n.Pos(), "missing key playbook: every file names its playbook, such as `playbook: enterprise-onboarding`")
	}
	if v, ok := f["description"]; ok {
		pb.Description, _ = v.Value.Str(p.prefix+": description", errs)
	}
	if v, ok := f["stage"]; ok {
		pb.Stage = p.stage(v.Value, p.prefix+": stage")
	}
	// Triggers first: their event types type `event.data` in trigger expressions.
	if v, ok := f["trigger"]; ok {
		p.trigger(v.Value)
	} else {
		if !misspelled(topKeys, "trigger") {
			errs.Add(n.Pos(), "%s: missing key trigger: say when the playbook starts, such as trigger: {on: [contract.signed]}", p.prefix)
		}
		p.trig = newExprEnv(s, envTrigger, nil)
	}
	if v, ok := f["owner"]; ok {
		pb.Owner = p.expr(p.run, v.Value, p.prefix+": owner", wantString, 0)
	} else if s.Attr("csm") != nil {
		pb.Owner = p.run.compile("customer.csm", tendfmt.PlainLoc("customer.csm", tendfmt.Pos{File: file, Line: 1, Col: 1}), "owner", wantString, 0, errs)
	}
	if v, ok := f["reply_to"]; ok {
		pb.ReplyTo = p.expr(p.run, v.Value, p.prefix+": reply_to", wantString, 0)
	}
	if v, ok := f["exit_when"]; ok {
		pb.ExitWhen = p.expr(p.run, v.Value, p.prefix+": exit_when", wantBool, 0)
	}
	if v, ok := f["expires"]; ok {
		pb.Expires = p.duration(v.Value, p.prefix+": expires")
	}
	if v, ok := f["unsubscribe"]; ok {
		pb.Unsubscribe, _ = v.Value.Bool(p.prefix+": unsubscribe", errs)
	}
	pb.Blocks = [][]*Step{nil}
	if v, ok := f["steps"]; ok {
		pb.Blocks[0] = p.block(v.Value, "steps", 0, false)
		if v.Value.Kind == yaml.SequenceNode && len(v.Value.Content) == 0 {
			errs.Add(v.Value.Pos(), "%s: steps must hold at least one step", p.prefix)
		}
	} else if !misspelled(topKeys, "steps") {
		errs.Add(n.Pos(), "%s: missing key steps: list what the playbook does", p.prefix)
	}
	// The version covers the file, the schema and every template it uses.
	h := sha256.New()
	h.Write(data)
	h.Write([]byte{0})
	h.Write(s.source)
	sort.Strings(pb.Templates)
	for _, t := range pb.Templates {
		h.Write([]byte{0})
		if tp := templates[t]; tp != nil {
			h.Write(tp.source)
		}
	}
	pb.Version = hex.EncodeToString(h.Sum(nil))[:12]
	return pb
}

func (p *pbParser) expr(env *exprEnv, n tendfmt.Node, what string, w want, t Type) *Expr {
	src, ok := n.ScalarText(what, p.errs)
	if !ok {
		return nil
	}
	return env.compile(src, tendfmt.ScalarLoc(p.src, n), what, w, t, p.errs)
}

func (p *pbParser) text(n tendfmt.Node, what string) *Text {
	src, ok := n.ScalarText(what, p.errs)
	if !ok {
		return nil
	}
	return p.run.compileText(src, tendfmt.ScalarLoc(p.src, n), what, p.errs)
}

func (p *pbParser) duration(n tendfmt.Node, what string) calendar.Duration {
	s, ok := n.ScalarText(what, p.errs)
	if !ok {
		return calendar.Duration{}
	}
	d, err := calendar.ParseDuration(s)
	if err != nil {
		p.errs.Add(n.Pos(), "%s: %v", what, err)
		return calendar.Duration{}
	}
	if d.IsZero() {
		p.errs.Add(n.Pos(), "%s: duration must be longer than zero", what)
	}
	return d
}

func (p *pbParser) stage(n tendfmt.Node, what string) string {
	s, ok := n.Str(what, p.errs)
	if !ok {
		return ""
	}
	if !slices.Contains(p.schema.Stages, s) {
		p.errs.Add(n.Pos(), "%s: unknown stage %s%s", what, s, tendfmt.HintOf("stages", s, p.schema.Stages))
		return ""
	}
	return s
}

func (p *pbParser) trigger(n tendfmt.Node) {
	what := p.prefix + ": trigger"
	f := n.Fields(what, []string{"on", "when", "once_per"}, p.errs)
	var types []string
	if on, ok := f["on"]; ok {
		var items []tendfmt.Node
		if on.Value.Kind == yaml.ScalarNode && on.Value.Tag != "!!null" {
			items = []tendfmt.Node{on.Value} // on: daily
		} else {
			items = on.Value.List(what+".on", p.errs)
		}
		for _, it := range items {
			t, ok := it.Str(what+".on item", p.errs)
			if !ok {
				continue
			}
			switch {
			case t == EventDaily:
				p.pb.Trigger.Daily = true
			case p.schema.Event(t) != nil:
				if slices.Contains(types, t) {
					p.errs.Add(it.Pos(), "%s.on: %s is listed twice", what, t)
					continue
				}
				types = append(types, t)
			default:
				p.errs.Add(it.Pos(), "%s.on: unknown event type %s%s", what, t, tendfmt.HintOf("event types", t, append(p.schema.EventNames(), EventDaily)))
			}
		}
		if on.Value.Kind == yaml.SequenceNode && len(on.Value.Content) == 0 {
			p.errs.Add(on.Value.Pos(), "%s.on must name at least one event type or daily", what)
		}
	} else if f != nil && !misspelled(tendfmt.MappingKeys(n), "on") {
		p.errs.Add(n.Pos(), "%s: missing key on: name the event types, or daily", what)
	}
	sort.Strings(types)
	p.pb.Trigger.On = types
	p.trig = newExprEnv(p.schema, envTrigger, types)
	if w, ok := f["when"]; ok {
		p.pb.Trigger.When = p.expr(p.trig, w.Value, what+".when", wantBool, 0)
	}
	if o, ok := f["once_per"]; ok {
		p.pb.Trigger.OncePer = p.expr(p.trig, o.Value, what+".once_per", wantAny, 0)
	}
}

// block parses a list of steps into a new block and returns its steps.
// noWait marks overdue blocks, whose steps must not block the run.
func (p *pbParser) block(n tendfmt.Node, path string, depth int, noWait bool) []*Step {
	if depth > 8 {
		p.errs.Add(n.Pos(), "%s: steps are nested more than 8 levels deep at %s", p.prefix, path)
		return nil
	}
	items := n.List(p.prefix+": "+path, p.errs)
	steps := make([]*Step, 0, len(items))
	for i, it := range items {
		if s := p.step(it, fmt.Sprintf("%s.%d", path, i), depth, noWait); s != nil {
			steps = append(steps, s)
		}
	}
	return steps
}

func (p *pbParser) newBlock(n tendfmt.Node, path string, depth int, noWait bool) int {
	idx := len(p.pb.Blocks)
	p.pb.Blocks = append(p.pb.Blocks, nil)
	p.pb.Blocks[idx] = p.block(n, path, depth+1, noWait)
	return idx
}

func (p *pbParser) step(n tendfmt.Node, path string, depth int, noWait bool) *Step {
	p.count++
	if p.count == MaxSteps+1 {
		p.errs.Add(n.Pos(), "%s: more than %d steps; split the playbook", p.prefix, MaxSteps)
	}
	if p.count > MaxSteps {
		return nil
	}
	s := &Step{Path: path, Pos: n.Pos(), Overdue: -1, OnTimeout: -1, Then: -1, Else: -1, Steps: -1, WaitTask: true}
	if n.Kind != yaml.MappingNode {
		p.errs.Add(n.Pos(), "%s: step %s must be a mapping with one of %s, not %s", p.prefix, path, strings.Join(StepNames(), ", "), n.KindName())
		return nil
	}
	// Find the step's kind first, so unknown keys are judged against it.
	var kindKey string
	raw := map[string]tendfmt.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		raw[n.Content[i].Value] = tendfmt.Node{Node: n.Content[i+1], File: n.File}
	}
	_, hasDo := raw[StepDo]
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if k == StepWait && hasDo {
			continue // with do, wait is the task's flag (wait: false), not a wait step
		}
		if LookupStep(k) != nil {
			if kindKey != "" {
				p.errs.Add(tendfmt.Node{Node: n.Content[i], File: n.File}.Pos(), "%s: step %s has both %s and %s; a step has exactly one of %s", p.prefix, path, kindKey, k, strings.Join(StepNames(), ", "))
				return nil
			}
			kindKey = k
		}
	}
	if idn, ok := raw["id"]; ok {
		if id, ok := idn.Str("id", p.errs); ok {
			if !stepIDRe.MatchString(id) {
				p.errs.Add(idn.Pos(), "%s: step id %q must be lower-case letters, digits, -, _ and .", p.prefix, id)
			}
			s.ID = id
		}
	}
	if s.ID == "" {
		s.ID = path
	}
	where := p.prefix + ": step " + s.ID
	idPos := n.Pos()
	if idn, ok := raw["id"]; ok {
		idPos = idn.Pos()
	}
	if prev, dup := p.ids[s.ID]; dup {
		p.errs.Add(idPos, "%s: step id %s is used twice (first at line %d); step ids must be unique in a playbook", p.prefix, s.ID, prev.Line)
	} else {
		p.ids[s.ID] = idPos
		p.pb.steps[s.ID] = s
	}
	if kindKey == "" {
		p.errs.Add(n.Pos(), "%s: missing the step's kind: one of %s%s", where, strings.Join(StepNames(), ", "), p.kindHint(raw))
		return nil
	}
	kind := LookupStep(kindKey)
	allowed := append([]string{"id", "when", kindKey}, kind.Keys...)
	var action *ActionSpec
	if kind.Kind == KindDo {
		do := raw[StepDo]
		a, ok := do.Str(where+": "+StepDo, p.errs)
		if !ok {
			return nil
		}
		if action = LookupAction(a); action == nil {
			p.errs.Add(do.Pos(), "%s: unknown action %s%s", where, a, tendfmt.HintOf("actions", a, ActionNames()))
			return nil
		}
		allowed = append(allowed, action.Keys...)
	}
	f := n.Fields(where, allowed, p.errs)
	var unknown []string
	for k := range raw {
		if !slices.Contains(allowed, k) {
			unknown = append(unknown, k)
		}
	}
	p.unknown = unknown
	if w, ok := f["when"]; ok {
		s.When = p.expr(p.run, w.Value, where+": when", wantBool, 0)
	}
	s.Kind = kind.Kind
	own := f[kindKey]            // the kind's key and its value
	at := where + ": " + kindKey // in messages: "step x: repeat", "step x: repeat.times"
	if noWait && kind.Waits {
		p.errs.Add(own.Key.Pos(), "%s: overdue steps run at once and cannot %s", where, kindKey)
	}
	switch kind.Kind {
	case KindDo:
		s.Do = action.Name
		p.action(s, action, f, where, depth, noWait)
	case KindWait:
		s.Wait = p.duration(own.Value, at)
	case KindWaitFor:
		wf := own.Value
		if wf.Kind == yaml.ScalarNode {
			p.errs.Add(wf.Pos(), "%s takes a mapping: {until: <condition>, timeout: 14d, on_timeout: [steps]}", at)
			return s
		}
		wff := p.body(kind, wf, at)
		if u, ok := wff["until"]; ok {
			s.Until = p.expr(p.run, u.Value, at+".until", wantBool, 0)
		}
		if t, ok := wff["timeout"]; ok {
			s.Timeout = p.duration(t.Value, at+".timeout")
		}
		if o, ok := wff["on_timeout"]; ok {
			if _, hasTimeout := wff["timeout"]; !hasTimeout {
				p.errs.Add(o.Key.Pos(), "%s: on_timeout needs a timeout", where)
			}
			s.OnTimeout = p.newBlock(o.Value, path+".on_timeout", depth, false)
		}
	case KindIf:
		s.Cond = p.expr(p.run, own.Value, at, wantBool, 0)
		if t, ok := f["then"]; ok {
			s.Then = p.newBlock(t.Value, path+".then", depth, noWait)
		} else if !misspelled(unknown, "then") {
			p.errs.Add(own.Key.Pos(), "%s needs then", at)
		}
		if e, ok := f["else"]; ok {
			s.Else = p.newBlock(e.Value, path+".else", depth, noWait)
		}
	case KindRepeat:
		rf := p.body(kind, own.Value, at)
		rkeys := tendfmt.MappingKeys(own.Value)
		if e, ok := rf["every"]; ok {
			s.Every = p.duration(e.Value, at+".every")
		}
		if t, ok := rf["times"]; ok {
			if v, ok := t.Value.Int(at+".times", p.errs); ok {
				if v < 1 || v > 1000 {
					p.errs.Add(t.Value.Pos(), "%s.times must be between 1 and 1000, not %d", at, v)
				}
				s.Times = v
			}
		}
		if u, ok := rf["until"]; ok {
			s.RepeatUntil = p.expr(p.run, u.Value, at+".until", wantBool, 0)
		}
		_, hasTimes := rf["times"]
		_, hasUntil := rf["until"]
		if rf != nil && !hasTimes && !hasUntil && !misspelled(rkeys, "times") && !misspelled(rkeys, "until") {
			p.errs.Add(own.Value.Pos(), "%s needs times or until, or it never ends", at)
		}
		if b, ok := rf["steps"]; ok {
			s.Steps = p.newBlock(b.Value, path+".steps", depth, false)
		}
	case KindStop:
		s.StopReason = p.text(own.Value, at)
	}
	return s
}

// body reads the mapping a wait_for or repeat key holds (at names it, as
// "step x: repeat"): its keys are the kind's Body, and each of its Required
// keys that is missing is reported, unless an unknown key there is a
// misspelling of it.
func (p *pbParser) body(kind *StepSpec, n tendfmt.Node, at string) map[string]tendfmt.Field {
	f := n.Fields(at, kind.Body, p.errs)
	if f == nil {
		return nil
	}
	keys := tendfmt.MappingKeys(n)
	for _, k := range kind.Required {
		if _, ok := f[k]; !ok && !misspelled(keys, k) {
			p.errs.Add(n.Pos(), "%s needs %s", at, k)
		}
	}
	return f
}

// misspelled reports whether the current step has an unknown key that is
// close to key, such as titel for title.
func misspelled(unknown []string, key string) bool {
	for _, k := range unknown {
		if tendfmt.Suggest(k, []string{key}) != "" {
			return true
		}
	}
	return false
}

// kindHint explains a step with no kind key, for example a misspelled `do`.
func (p *pbParser) kindHint(raw map[string]tendfmt.Node) string {
	for _, k := range sortedKeys(raw) {
		if m := tendfmt.Suggest(k, StepNames()); m != "" && k != "id" && k != "when" {
			return "; did you mean " + m + " instead of " + k + "?"
		}
	}
	return ""
}

func (p *pbParser) action(s *Step, action *ActionSpec, f map[string]tendfmt.Field, where string, depth int, noWait bool) {
	unknown := p.unknown // nested steps (overdue) overwrite p.unknown
	get := func(k string) (tendfmt.Node, bool) { v, ok := f[k]; return v.Value, ok }
	if v, ok := get("to"); ok {
		s.To = p.expr(p.run, v, where+": to", wantString, 0)
	}
	if v, ok := get("reply_to"); ok {
		s.ReplyTo = p.expr(p.run, v, where+": reply_to", wantString, 0)
	}
	if v, ok := get("cc"); ok {
		for _, it := range v.List(where+": cc", p.errs) {
			s.Cc = append(s.Cc, p.expr(p.run, it, where+": cc", wantString, 0))
		}
	}
	if v, ok := get("attendees"); ok {
		for _, it := range v.List(where+": attendees", p.errs) {
			s.Attendees = append(s.Attendees, p.expr(p.run, it, where+": attendees", wantString, 0))
		}
	}
	if v, ok := get("template"); ok {
		if name, ok := v.Str(where+": template", p.errs); ok {
			t := p.templates[name]
			if t == nil {
				names := sortedKeys(p.templates)
				p.errs.Add(v.Pos(), "%s: unknown template %s%s", where, name, tendfmt.HintOf("templates", name, names))
			} else {
				s.Template = t
				if !slices.Contains(p.pb.Templates, name) {
					p.pb.Templates = append(p.pb.Templates, name)
				}
			}
		}
	}
	for _, k := range []struct {
		key string
		dst **Text
	}{{"subject", &s.Subject}, {"body", &s.Body}, {"title", &s.Title}, {"description", &s.Description},
		{"topic", &s.Topic}, {"reason", &s.Reason}, {"text", &s.Text}} {
		if v, ok := get(k.key); ok && (s.Do != ActionWebhook || k.key != "body") {
			*k.dst = p.text(v, where+": "+k.key)
		}
	}
	if v, ok := get("kind"); ok {
		if k, ok := v.Str(where+": kind", p.errs); ok {
			if !slices.Contains(SurveyKinds, k) {
				p.errs.Add(v.Pos(), "%s: unknown survey kind %s; valid kinds are %s", where, k, strings.Join(SurveyKinds, ", "))
			}
			s.SurveyKind = k
			s.SurveyPos = v.Pos()
		}
	}
	if s.Do == ActionEmail || s.Do == ActionSurvey {
		s.Unsubscribe = p.pb.Unsubscribe
	}
	if v, ok := get("unsubscribe"); ok {
		s.Unsubscribe, _ = v.Bool(where+": unsubscribe", p.errs)
	}
	if v, ok := get("duration"); ok {
		d := p.duration(v, where+": duration")
		if d.BusinessDays != 0 {
			p.errs.Add(v.Pos(), "%s: a meeting's duration cannot be in business days", where)
		} else if d.Fixed > 8*time.Hour {
			p.errs.Add(v.Pos(), "%s: a meeting of %s does not fit in a working day", where, d)
		}
		s.Duration = d.Fixed
	} else if action.Meeting {
		s.Duration = 30 * time.Minute
	}
	if action.Task {
		s.Due = DefaultDue
	}
	if v, ok := get("due"); ok {
		s.Due = p.duration(v, where+": due")
	}
	if noWait || s.Do == ActionEscalate { // an escalation never holds the run
		s.WaitTask = false
	}
	if v, ok := get("wait"); ok {
		if b, ok := v.Bool(where+": wait", p.errs); ok {
			if b && noWait {
				p.errs.Add(v.Pos(), "%s: overdue steps run at once; a task in them cannot wait", where)
			}
			s.WaitTask = b && !noWait
		}
	}
	if v, ok := get("overdue"); ok {
		s.Overdue = p.newBlock(v, s.Path+".overdue", depth, true)
	}
	if v, ok := get("owner"); ok {
		s.Owner = p.expr(p.run, v, where+": owner", wantString, 0)
	}
	if v, ok := get("channel"); ok {
		if c, ok := v.Str(where+": channel", p.errs); ok {
			if !endpointRe.MatchString(c) {
				p.errs.Add(v.Pos(), "%s: channel %q must be a name from tend.yaml such as cs-alerts", where, c)
			}
			s.Channel, s.ChannelPos = c, v.Pos()
		}
	}
	if v, ok := get("endpoint"); ok {
		if e, ok := v.Str(where+": endpoint", p.errs); ok {
			if strings.Contains(e, "://") {
				p.errs.Add(v.Pos(), "%s: endpoint %q is a URL; name an endpoint from tend.yaml instead, such as crm", where, e)
			} else if !endpointRe.MatchString(e) {
				p.errs.Add(v.Pos(), "%s: endpoint %q must be a name from tend.yaml such as crm", where, e)
			}
			s.Endpoint, s.EndpointPos = e, v.Pos()
		}
	}
	if s.Do == ActionWebhook { // its body is a mapping of texts
		if v, ok := get("body"); ok {
			for _, fe := range tendfmt.OrderedFields(v, where+": body", p.errs) {
				txt, ok := fe.Value.ScalarText(where+": body."+fe.Key.Value, p.errs)
				if ok {
					s.Fields = append(s.Fields, BodyField{Key: fe.Key.Value, Text: p.run.compileText(txt, tendfmt.ScalarLoc(p.src, fe.Value), where+": body."+fe.Key.Value, p.errs)})
				}
			}
		}
	}
	if v, ok := get("set"); ok {
		for _, fe := range tendfmt.OrderedFields(v, where+": set", p.errs) {
			a := p.schema.Attr(fe.Key.Value)
			if a == nil {
				p.errs.Add(fe.Key.Pos(), "%s: set: unknown attribute %s%s", where, fe.Key.Value, tendfmt.HintOf("attributes", fe.Key.Value, p.schema.AttrNames()))
				continue
			}
			if a.Name == AttrID || a.Name == AttrStage {
				p.errs.Add(fe.Key.Pos(), "%s: set: %s cannot be set; use stage: to change the stage", where, a.Name)
				continue
			}
			x := p.expr(p.run, fe.Value, where+": set."+a.Name, wantType, a.Type)
			p.run.checkEnumResult(x, tendfmt.ScalarLoc(p.src, fe.Value), where+": set."+a.Name, a, p.errs)
			s.Set = append(s.Set, SetField{Attr: a.Name, X: x})
		}
	}
	if v, ok := get("stage"); ok {
		s.Stage = p.stage(v, where+": stage")
	}
	// What each action cannot do without.
	missing := func(keys ...string) {
		for _, k := range keys {
			if _, ok := f[k]; ok {
				return
			}
			if misspelled(unknown, k) {
				return // the unknown key that means k is reported already
			}
		}
		p.errs.Add(s.Pos, "%s: do: %s needs %s", where, s.Do, strings.Join(keys, " or "))
	}
	for _, keys := range action.Needs {
		missing(keys...)
	}
	if s.Do == ActionEmail {
		if s.Template == nil {
			if _, ok := f["template"]; !ok {
				_, hasS := f["subject"]
				_, hasB := f["body"]
				if !hasS || !hasB {
					p.errs.Add(s.Pos, "%s: do: %s needs a template, or both subject and body", where, s.Do)
				}
			}
		}
		if s.To == nil {
			if _, ok := f["to"]; !ok && p.schema.Attr("contact_email") == nil {
				p.errs.Add(s.Pos, "%s: do: %s needs to: the schema has no contact_email attribute to default to", where, s.Do)
			}
		}
	}
}

// ParseTemplate reads a template: front matter with subject between --- lines, then the body.
func ParseTemplate(name, file string, data []byte, env *exprEnv, errs *tendfmt.ErrorList) *Template {
	t := &Template{Name: name, File: file, source: data}
	if len(data) > tendfmt.MaxFileSize {
		errs.Add(tendfmt.Pos{File: file, Line: 1, Col: 1}, "file is %d bytes; the limit is %d (1 MiB)", len(data), tendfmt.MaxFileSize)
		return nil
	}
	text := string(data)
	if !strings.HasPrefix(text, "---\n") && !strings.HasPrefix(text, "---\r\n") {
		errs.Add(tendfmt.Pos{File: file, Line: 1, Col: 1}, "template %s: must start with front matter: a line ---, subject: ..., and a line ---", name)
		return nil
	}
	lines := strings.SplitAfter(text, "\n")
	closing := -1
	for i := 1; i < len(lines); i++ {
		if strings.TrimRight(lines[i], " \t\r\n") == "---" {
			closing = i
			break
		}
	}
	if closing < 0 {
		errs.Add(tendfmt.Pos{File: file, Line: 1, Col: 1}, "template %s: front matter has no closing --- line", name)
		return nil
	}
	// A blank first line keeps the front matter's lines those of the file.
	front := "\n" + strings.Join(lines[1:closing], "")
	body := strings.ReplaceAll(strings.Join(lines[closing+1:], ""), "\r\n", "\n")
	if strings.TrimSpace(front) == "" {
		errs.Add(tendfmt.Pos{File: file, Line: 2, Col: 1}, "template %s: front matter needs subject", name)
		return nil
	}
	root := tendfmt.Parse(file, []byte(front), errs)
	if root == nil {
		return nil
	}
	n := tendfmt.Node{Node: root, File: file}
	f := n.Fields("template "+name+" front matter", []string{"subject"}, errs)
	if sub, ok := f["subject"]; ok {
		if src, ok := sub.Value.ScalarText("template "+name+": subject", errs); ok {
			t.Subject = env.compileText(src, tendfmt.ScalarLoc(tendfmt.NewSource(file, []byte(front)), sub.Value), "template "+name+": subject", errs)
		}
	} else if f != nil && !misspelled(tendfmt.MappingKeys(n), "subject") {
		errs.Add(n.Pos(), "template %s: front matter needs subject", name)
	}
	t.Body = env.compileText(body, tendfmt.PlainLoc(body, tendfmt.Pos{File: file, Line: closing + 2, Col: 1}), "template "+name+": body", errs)
	return t
}

// kebabHint suggests the kebab-case form of a playbook name, when there is one.
func kebabHint(name string) string {
	k := strings.ToLower(name)
	k = regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(k, "-")
	k = strings.Trim(k, "-")
	if k != name && playbookNameRe.MatchString(k) {
		return "; write " + k
	}
	return ""
}

// itoa is strconv.Itoa, named for brevity in paths.
func itoa(i int) string { return strconv.Itoa(i) }
