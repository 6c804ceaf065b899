package lang

// The registry of step and action kinds. The parser (which keys a step
// may have, and which it needs), the JSON Schema (tend schema), the
// interpreter (tasks, meetings, the contact policy) and the activities
// (activity type names) all read these two tables; the names of kinds are
// written here and nowhere else.

// StepKind is what a step does.
type StepKind int

// The step kinds (docs/language.md, Steps).
const (
	KindDo StepKind = iota + 1
	KindWait
	KindWaitFor
	KindIf
	KindRepeat
	KindStop
)

// The keys that give a step its kind.
const (
	StepDo      = "do"
	StepWait    = "wait"
	StepWaitFor = "wait_for"
	StepIf      = "if"
	StepRepeat  = "repeat"
	StepStop    = "stop"
)

// The actions: the values of do.
const (
	ActionEmail    = "email"
	ActionSurvey   = "survey"
	ActionCall     = "call"
	ActionTraining = "training"
	ActionTask     = "task"
	ActionNotify   = "notify"
	ActionEscalate = "escalate"
	ActionWebhook  = "webhook"
	ActionUpdate   = "update"
)

// StepSpec describes a step kind.
type StepSpec struct {
	Name string // the key that makes a step of this kind
	Kind StepKind
	// Keys are the step's other keys, besides id and when. A do step's
	// keys are those of its action (ActionSpec.Keys).
	Keys []string
	// Body lists the keys of the mapping that the kind's key holds
	// (wait_for, repeat); Required are those of them a step must give.
	Body     []string
	Required []string
	// Waits is set when the step makes its thread wait: an overdue block,
	// which runs at once, cannot hold it.
	Waits bool
}

// ActionSpec describes an action.
type ActionSpec struct {
	Name string
	Keys []string // the action's own keys, besides id, when and do
	// Task: the action opens a task for a person, due after DefaultDue
	// unless it says when.
	Task bool
	// Meeting: a call or a training, 30 minutes long unless it says, with
	// a proposed start.
	Meeting bool
	// CustomerFacing: a message to the customer, so the contact policy
	// applies.
	CustomerFacing bool
	// Activity is the Temporal activity type that carries the action out,
	// or "" for an action the journey applies itself (update).
	Activity string
	// Needs are the keys the action cannot do without; any one key of an
	// entry satisfies it. Email's needs (a template, or a subject and a
	// body; an address, or a contact_email to default to) are the
	// parser's own.
	Needs [][]string
}

// Steps are the step kinds, in the order docs/language.md lists them.
var Steps = []StepSpec{
	{Name: StepDo, Kind: KindDo},
	{Name: StepWait, Kind: KindWait, Waits: true},
	{Name: StepWaitFor, Kind: KindWaitFor, Waits: true,
		Body: []string{"until", "timeout", "on_timeout"}, Required: []string{"until"}},
	{Name: StepIf, Kind: KindIf, Keys: []string{"then", "else"}},
	{Name: StepRepeat, Kind: KindRepeat, Waits: true,
		Body: []string{"every", "times", "until", "steps"}, Required: []string{"every", "steps"}},
	{Name: StepStop, Kind: KindStop},
}

// Actions are the actions, in the order docs/language.md lists them.
var Actions = []ActionSpec{
	{Name: ActionEmail, Keys: []string{"to", "template", "subject", "body", "cc", "reply_to", "unsubscribe"},
		CustomerFacing: true, Activity: "Email"},
	{Name: ActionSurvey, Keys: []string{"kind", "to", "template", "reply_to", "unsubscribe"},
		CustomerFacing: true, Activity: "Survey", Needs: [][]string{{"kind"}, {"template"}}},
	{Name: ActionCall, Keys: []string{"title", "attendees", "duration", "due", "overdue", "wait", "owner"},
		Task: true, Meeting: true, Activity: "Call", Needs: [][]string{{"title"}}},
	{Name: ActionTraining, Keys: []string{"title", "attendees", "duration", "due", "overdue", "wait", "owner", "topic"},
		Task: true, Meeting: true, Activity: "Training", Needs: [][]string{{"title"}}},
	{Name: ActionTask, Keys: []string{"title", "description", "due", "overdue", "wait", "owner"},
		Task: true, Activity: "Task", Needs: [][]string{{"title"}}},
	{Name: ActionNotify, Keys: []string{"channel", "text"},
		Activity: "Notify", Needs: [][]string{{"text"}}},
	{Name: ActionEscalate, Keys: []string{"to", "reason", "channel"},
		Task: true, Activity: "Escalate", Needs: [][]string{{"to"}, {"reason"}}},
	{Name: ActionWebhook, Keys: []string{"endpoint", "body"},
		Activity: "Webhook", Needs: [][]string{{"endpoint"}}},
	{Name: ActionUpdate, Keys: []string{"set", "stage"},
		Needs: [][]string{{"set", "stage"}}},
}

var (
	stepByName   = map[string]*StepSpec{}
	actionByName = map[string]*ActionSpec{}
	stepNames    []string
	actionNames  []string
)

func init() {
	for i := range Steps {
		stepByName[Steps[i].Name] = &Steps[i]
		stepNames = append(stepNames, Steps[i].Name)
	}
	for i := range Actions {
		actionByName[Actions[i].Name] = &Actions[i]
		actionNames = append(actionNames, Actions[i].Name)
	}
}

// LookupStep returns the step kind that key gives a step, or nil.
func LookupStep(key string) *StepSpec { return stepByName[key] }

// LookupAction returns the named action, or nil.
func LookupAction(name string) *ActionSpec { return actionByName[name] }

// StepNames lists the keys that give a step its kind, in order.
func StepNames() []string { return append([]string(nil), stepNames...) }

// ActionNames lists the actions, in order.
func ActionNames() []string { return append([]string(nil), actionNames...) }

// IsTask reports whether an action opens a task for a person.
func IsTask(action string) bool {
	a := actionByName[action]
	return a != nil && a.Task
}

// IsCustomerFacing reports whether the contact policy applies to an action.
func IsCustomerFacing(action string) bool {
	a := actionByName[action]
	return a != nil && a.CustomerFacing
}

// ActivityName returns the activity type that carries out an action, and
// false for an action that no activity carries out (update) or an unknown
// one.
func ActivityName(action string) (string, bool) {
	a := actionByName[action]
	if a == nil || a.Activity == "" {
		return "", false
	}
	return a.Activity, true
}
