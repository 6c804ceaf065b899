package lang

import (
	"fmt"
	"time"
)

// Event is something that happened to a customer (docs/api.md, POST
// /v1/events). Attributes are merged into the customer's attributes when
// the event is applied; a key set to nil removes that attribute. ID is the
// idempotency key.
type Event struct {
	ID         string         `json:"id,omitempty"`
	Type       string         `json:"type"`
	Customer   string         `json:"customer"`
	At         time.Time      `json:"at"`
	Attributes map[string]any `json:"attributes,omitempty"`
	Data       map[string]any `json:"data,omitempty"`
}

func (e *Event) exprMap() map[string]any {
	data := e.Data
	if data == nil {
		data = map[string]any{}
	}
	return map[string]any{"id": e.ID, "type": e.Type, "at": e.At, "data": data}
}

// Normalize checks an event against the schema and converts its attribute
// and data values to their declared types. The error names the bad field.
func (s *Schema) Normalize(e *Event) error {
	if e.Customer == "" {
		return fmt.Errorf("customer: missing customer id")
	}
	if e.Type == "" {
		return fmt.Errorf("type: missing event type")
	}
	if e.Type == EventDaily {
		return fmt.Errorf("type: daily is a trigger, not an event type")
	}
	if e.At.IsZero() {
		return fmt.Errorf("at: missing time")
	}
	if s.Event(e.Type) == nil {
		return fmt.Errorf("type: unknown event type %s%s", e.Type, hint(e.Type, s.EventNames()))
	}
	if e.Type == EventCustomerUpdated && len(e.Data) > 0 {
		return fmt.Errorf("data: customer.updated carries only attributes")
	}
	if len(e.Attributes) > 0 {
		a, err := s.CoerceAttrs(e.Attributes)
		if err != nil {
			return fmt.Errorf("attributes: %w", err)
		}
		if _, ok := a[AttrID]; ok {
			return fmt.Errorf("attributes: id cannot be changed")
		}
		e.Attributes = a
	}
	if len(e.Data) > 0 {
		d, err := s.CoerceData(e.Type, e.Data)
		if err != nil {
			return fmt.Errorf("data: %w", err)
		}
		e.Data = d
	}
	return nil
}

// Record is one line of a run's timeline (docs/language.md, Scenario
// files). Kind is one of run.started, step.skipped, action, task.completed,
// task.overdue, wait.timeout, run.completed, run.exited, run.expired,
// run.failed, stage.changed and message.held. The first six fields are
// always present in JSON, so every jsonl line has the same leading shape.
type Record struct {
	At       time.Time  `json:"at"`
	Customer string     `json:"customer"`
	Playbook string     `json:"playbook"`
	Run      string     `json:"run"`
	Step     string     `json:"step"`
	Kind     string     `json:"kind"`
	Action   string     `json:"action,omitempty"`
	From     string     `json:"from,omitempty"`
	To       string     `json:"to,omitempty"`
	Owner    string     `json:"owner,omitempty"`
	Title    string     `json:"title,omitempty"`
	Due      *time.Time `json:"due,omitempty"`
	// Start is the slot proposed for a call or training, from its owner's calendar.
	Start  *time.Time `json:"start,omitempty"`
	Task   string     `json:"task,omitempty"`
	Reason string     `json:"reason,omitempty"`
	// Until is when a held message (message.held) goes out.
	Until *time.Time `json:"until,omitempty"`
}

// Record kinds.
const (
	RecRunStarted    = "run.started"
	RecStepSkipped   = "step.skipped"
	RecAction        = "action"
	RecTaskCompleted = "task.completed"
	RecTaskOverdue   = "task.overdue"
	RecWaitTimeout   = "wait.timeout"
	RecRunCompleted  = "run.completed"
	RecRunExited     = "run.exited"
	RecRunExpired    = "run.expired"
	RecRunFailed     = "run.failed"
	RecStageChanged  = "stage.changed"
	// RecMessageHeld: the contact policy holds a customer-facing message
	// until Until, for Reason; its action record follows when it goes out.
	RecMessageHeld = "message.held"
	// RecConditionFailed: a condition of a run (if, until, exit_when,
	// repeat.until) could not be evaluated; Reason names it, the error, and
	// what the run did. Each until and exit_when is recorded once per run.
	RecConditionFailed = "condition.failed"
)
