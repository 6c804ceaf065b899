package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
)

// Names that managers see in the Temporal UI (docs/temporal.md): changing
// one breaks their filters and running workflows.
const (
	TaskQueue        = "tend"
	JourneyWorkflow  = "CustomerJourney"
	RunWorkflow      = "PlaybookRun"
	DefaultNamespace = "default"
)

// OwnerWorkflow keeps one owner's calendar of proposed meetings (an
// engine.Ledger), so that calls and trainings never overlap.
const OwnerWorkflow = "OwnerCalendar"

// Signal and query names. Clients send customer events to a journey with
// SignalEvent (SignalWithStart, so the first event starts the journey) and
// read a workflow's state with QueryState.
const (
	SignalEvent = "event" // lang.Event, to a journey
	QueryState  = "state" // JourneyView from a journey, RunView from a run

	// UpdateCompleteTask completes a task on its run (a Temporal Update
	// with CompleteTask, answered with CompleteTaskResult). The run's
	// validator rejects an unknown task (TaskNotFound) and one already
	// done (TaskDone); an accepted completion is answered once the run has
	// recorded it.
	UpdateCompleteTask = "complete-task"

	// UpdateBookSlot books a slot in an owner's calendar (a Temporal
	// Update of OwnerWorkflow with engine.BookRequest, answered with the
	// start as a time.Time). Its update id is the meeting's action key,
	// so a retried request is answered once. The validator rejects a
	// request that does not parse (ErrBadSlotRequest).
	UpdateBookSlot = "book-slot"

	// UpdateRetryStep re-drives the failed step of a stalled run (a
	// Temporal Update with RetryStep, answered with RetryStepResult once
	// the step's action is being carried out again, with the same action
	// key). The validator rejects a run that is not stalled (NotStalled).
	UpdateRetryStep = "retry-step"

	signalToRun   = "journey" // journey → run: an engine.ToRun
	signalFromRun = "run"     // run → journey: an engine.FromRun
)

// Search attributes (docs/temporal.md). They hold no personal data: ids,
// names of playbooks and steps, stages, statuses and owner roles or
// addresses of the vendor's own staff.
var (
	AttrCustomer = temporal.NewSearchAttributeKeyKeyword("TendCustomer")
	AttrPlaybook = temporal.NewSearchAttributeKeyKeyword("TendPlaybook")
	AttrVersion  = temporal.NewSearchAttributeKeyKeyword("TendVersion")
	AttrStage    = temporal.NewSearchAttributeKeyKeyword("TendStage")
	AttrStep     = temporal.NewSearchAttributeKeyKeyword("TendStep")
	AttrOwner    = temporal.NewSearchAttributeKeyKeyword("TendOwner")
	AttrStatus   = temporal.NewSearchAttributeKeyKeyword("TendStatus")
)

// SearchAttributes lists every custom search attribute and its type, for
// registering them on a namespace.
func SearchAttributes() map[string]enums.IndexedValueType {
	return map[string]enums.IndexedValueType{
		"TendCustomer": enums.INDEXED_VALUE_TYPE_KEYWORD,
		"TendPlaybook": enums.INDEXED_VALUE_TYPE_KEYWORD,
		"TendVersion":  enums.INDEXED_VALUE_TYPE_KEYWORD,
		"TendStage":    enums.INDEXED_VALUE_TYPE_KEYWORD,
		"TendStep":     enums.INDEXED_VALUE_TYPE_KEYWORD,
		"TendOwner":    enums.INDEXED_VALUE_TYPE_KEYWORD,
		"TendStatus":   enums.INDEXED_VALUE_TYPE_KEYWORD,
	}
}

// OwnerID is the workflow id of an owner's calendar: owner/ and the start
// of the SHA-256 of the address as engine.OwnerKey writes it, so that the
// id names nobody and Jo@ and jo@ share one calendar.
func OwnerID(owner string) string { return "owner/" + OwnerHash(owner) }

// OwnerHash names an owner without their address: the first 24 hex digits
// of the SHA-256 of the address as engine.OwnerKey writes it (trimmed,
// lower-cased). It is the TendOwner of runs on a worker with
// Options.HashOwner, and the end of OwnerID.
func OwnerHash(owner string) string {
	sum := sha256.Sum256([]byte(engine.OwnerKey(owner)))
	return hex.EncodeToString(sum[:12])
}

// JourneyID is the workflow id of a customer's journey.
func JourneyID(customer string) string { return WorkflowID("customer/" + customer) }

// WorkflowID is the Temporal workflow id of a tend id (customer/<id> or
// run/<playbook>/<customer>/<n>). Temporal carries workflow ids in gRPC
// headers, which hold printable ASCII only, so every byte outside it, and
// %, is percent-encoded: customer zoë's journey is customer/zo%C3%AB. An
// id in printable ASCII without % is its own workflow id. Search attributes
// and every output show ids as given.
func WorkflowID(id string) string {
	clean := true
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x20 || c > 0x7e || c == '%' {
			clean = false
			break
		}
	}
	if clean {
		return id
	}
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x20 || c > 0x7e || c == '%' {
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// IDOf reverses WorkflowID: the tend id of a workflow id.
func IDOf(workflowID string) string {
	if !strings.Contains(workflowID, "%") {
		return workflowID
	}
	var b strings.Builder
	for i := 0; i < len(workflowID); i++ {
		c := workflowID[i]
		if c == '%' && i+2 < len(workflowID) {
			if v, err := strconv.ParseUint(workflowID[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// JourneyInput starts (or continues) a customer's journey.
type JourneyInput struct {
	Customer string `json:"customer"`
	// State is set when the journey continues as new.
	State *engine.JourneyState `json:"state,omitempty"`
	// Pending holds signals received but not yet handled at continue-as-new.
	Pending []Signal `json:"pending,omitempty"`
	// Set is the version of the playbook set the journey last used.
	Set string `json:"set,omitempty"`
	// Stats are the journey's counts so far.
	Stats JourneyStats `json:"stats"`
	// Attrs are the customer's attributes when the journey starts.
	Attrs map[string]any `json:"attrs,omitempty"`
	// Rejected are the latest events the journey could not apply.
	Rejected []RejectedEvent `json:"rejected,omitempty"`
}

// RejectedEvent is an accepted event that a journey could not apply, with
// the reason: for example a schema that changed between the edge and the
// worker, or a record that would grow past lang.MaxRecordBytes. A journey
// keeps the latest MaxRejected.
type RejectedEvent struct {
	ID         string         `json:"id,omitempty"`
	Type       string         `json:"type"`
	At         time.Time      `json:"at"`
	Received   time.Time      `json:"received"`
	Reason     string         `json:"reason"`
	Attributes map[string]any `json:"attributes,omitempty"`
	Data       map[string]any `json:"data,omitempty"`
}

// JourneyRejected is the TendStatus of a journey that holds rejected
// events, so that tend events rejected finds them with one query.
const JourneyRejected = "rejected"

// MaxRejected is how many rejected events a journey keeps.
const MaxRejected = 100

// maxRejectedBytes bounds the payloads kept with rejected events; past it
// only the newest keeps its attributes and data.
const maxRejectedBytes = 256 << 10

// rejectedSize is about the size of l as JSON: its payloads, which are
// what can be large, and the text of each entry.
func rejectedSize(l []RejectedEvent) int {
	n := 0
	for _, r := range l {
		n += 64 + len(r.ID) + len(r.Type) + len(r.Reason) + lang.RecordSize(r.Attributes) + lang.RecordSize(r.Data)
	}
	return n
}

// Signal is one signal to a journey, kept in order: a customer event, or
// a message from one of its runs.
type Signal struct {
	Name  string          `json:"name"`
	Event *lang.Event     `json:"event,omitempty"`
	Msg   *engine.FromRun `json:"msg,omitempty"`
}

// JourneyStats counts the events a journey has received: applied, dropped
// as duplicates (an id seen before), rejected by the schema, and survey
// answers revised (a survey answered again with another score or a
// comment: not applied again, see engine.SurveyAnswer).
type JourneyStats struct {
	Applied    int `json:"applied"`
	Duplicates int `json:"duplicates"`
	Rejected   int `json:"rejected"`
	Revised    int `json:"revised,omitempty"`
}

// JourneyView is what QueryState returns from a journey.
type JourneyView struct {
	Customer string          `json:"customer"`
	Stage    string          `json:"stage"`
	Attrs    map[string]any  `json:"attrs"`
	Running  []string        `json:"running"`
	Version  string          `json:"version"`
	Timeline []lang.Record   `json:"timeline"`
	Stats    JourneyStats    `json:"stats"`
	Rejected []RejectedEvent `json:"rejected"`
	// Answers are the customer's latest survey answers.
	Answers []engine.SurveyAnswer `json:"answers,omitempty"`
	// Error says why a playbook set the journey was asked to use (one
	// recorded in its history, or another worker's) was not used: it no
	// longer compiles with this build of tend. The journey runs on its
	// last good set, or the worker's current one.
	Error string `json:"error,omitempty"`
	// Explain says why each playbook of the set did or did not start at
	// the last event and the last daily check (tend explain). Journeys of
	// a worker older than the field leave it out.
	Explain *engine.Report `json:"explain,omitempty"`
	// Playbooks is the journey's memory of each playbook (runs started,
	// the running one, once_per keys used), so that tend publish can ask
	// what a new set's triggers would decide for the customer. Journeys
	// of a worker older than the field leave it out.
	Playbooks map[string]*engine.PlaybookRuns `json:"playbooks"`
}

// RunView is what QueryState returns from a run: its state, what it is
// waiting for in plain words, the messages the contact policy holds, its
// timeline, and the failed step it waits to retry, if it is stalled.
type RunView struct {
	State    engine.RunState `json:"state"`
	Waiting  string          `json:"waiting"`
	Held     []engine.Hold   `json:"held"`
	Timeline []lang.Record   `json:"timeline"`
	Stalled  *Stall          `json:"stalled,omitempty"`
}

// Stall is the step a stalled run waits to retry: its action failed for
// good (a permanent error, or a channel down for longer than its
// retry_for) at FailedAt, and the run fails at Until unless the step is
// retried (UpdateRetryStep) first.
type Stall struct {
	Step     string    `json:"step"`
	Key      string    `json:"key"` // the action key, kept by the retry
	Kind     string    `json:"kind"`
	Reason   string    `json:"reason"`
	FailedAt time.Time `json:"failed_at"`
	Until    time.Time `json:"until"`
	// Retries counts the retries of the step so far.
	Retries int `json:"retries,omitempty"`
}

// RetryStep asks a stalled run to retry its failed step.
type RetryStep struct{}

// RetryStepResult is a stalled run's answer to RetryStep: the step is
// being carried out again, with the same action key.
type RetryStepResult struct {
	Run   string `json:"run"`
	Step  string `json:"step"`
	Key   string `json:"key"`
	Retry int    `json:"retry"` // 1 for the first retry of the step
}

// CompleteTask asks a run to complete one of its open tasks.
type CompleteTask struct {
	Task    string    `json:"task"`
	Outcome string    `json:"outcome,omitempty"`
	At      time.Time `json:"at,omitempty"` // when it was done; the run's now when zero
}

// CompleteTaskResult is the run's answer to CompleteTask.
type CompleteTaskResult struct {
	Task   string `json:"task"`
	Run    string `json:"run"`
	Status string `json:"status"` // the run's status after the completion
}

// Error types of a rejected CompleteTask (temporal.ApplicationError.Type).
const (
	ErrTaskNotFound = "TaskNotFound"
	ErrTaskDone     = "TaskDone"
)

// ErrNotStalled is the error type of a rejected RetryStep: the run is
// not waiting for a retry.
const ErrNotStalled = "NotStalled"

// ErrBadSlotRequest is the error type of a rejected UpdateBookSlot: the
// request does not parse, and never will.
const ErrBadSlotRequest = "BadSlotRequest"

// OwnerInput starts (or continues) an owner's calendar: the meetings
// booked ahead, when it continues as new.
type OwnerInput struct {
	Ledger engine.Ledger `json:"ledger"`
}

// OwnerView is what QueryState returns from an owner's calendar: the
// meetings booked that have not ended, by start.
type OwnerView struct {
	Bookings []engine.Booking `json:"bookings"`
}

// ParseTaskID splits a task id (<playbook>/<customer>/<n>/<step>/<occurrence>)
// into its run id and customer. Customer ids may contain slashes; playbook
// names and step ids may not.
func ParseTaskID(id string) (runID, customer string, ok bool) {
	first := strings.Index(id, "/")
	parts := strings.Split(id, "/")
	if first <= 0 || len(parts) < 5 {
		return "", "", false
	}
	pb := id[:first]
	rest := parts[1 : len(parts)-2] // customer..., n
	customer = strings.Join(rest[:len(rest)-1], "/")
	if customer == "" {
		return "", "", false
	}
	return "run/" + pb + "/" + customer + "/" + rest[len(rest)-1], customer, true
}

// Bundle is a validated playbook set as it travels through workflow
// history, so that a replay on any worker sees the same playbooks.
type Bundle struct {
	Version string       `json:"version"`
	Files   []BundleFile `json:"files"`
	// Semantics is the lang.Semantics level the set was validated at;
	// a bundle stored by an earlier release has none (0), and keeps the
	// meaning its expressions had then.
	Semantics int `json:"semantics,omitempty"`
}

// BundleFile is one file of a Bundle, as text so the Temporal UI shows it.
type BundleFile struct {
	Path string `json:"path"`
	Text string `json:"text"`
}
