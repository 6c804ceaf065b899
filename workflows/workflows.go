package workflows

import (
	"time"

	"github.com/tend-cs/tend/engine/lang"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Options tunes the workflows. The zero value is ready to use.
type Options struct {
	// HistoryLimit is the history length at which a journey or a run
	// continues as new, well under Temporal's 10,240-event warning.
	HistoryLimit int
	// ActivityTimeout bounds one attempt of an outreach activity.
	ActivityTimeout time.Duration
	// RetryInitial and RetryMax bound the backoff between attempts of a
	// transiently failing activity. Outreach activities retry without an
	// attempt cap: each gives up by itself once its channel's retry_for
	// has passed (activities.DefaultRetryFor), and RetryBackstop bounds
	// them all (ScheduleToClose) should an activity never answer.
	// RetryAttempts caps the attempts of BookSlot, which talks to
	// Temporal itself.
	RetryInitial  time.Duration
	RetryMax      time.Duration
	RetryAttempts int32
	// HashOwner sets TendOwner to OwnerHash of the run's owner instead of
	// the address. Search attributes are stored in plain text, so a worker
	// that encrypts payloads sets it: an owner is an expression over the
	// customer's record (customer.csm), a value the customer's CRM told
	// us. It is fixed when the worker starts; a replay compares no
	// attribute values, so a history recorded either way replays.
	HashOwner     bool
	RetryBackstop time.Duration
	// RetryWindow is how long a run whose step failed for good stays open,
	// stalled, waiting for the step to be retried (UpdateRetryStep), before
	// it fails.
	RetryWindow time.Duration
	// OnRecord, if set, receives every timeline record once, when it is
	// first made (never during replay). Tests and metrics use it.
	OnRecord func(lang.Record)
}

// Defaults of Options.
const (
	DefaultHistoryLimit = 4000
	// DefaultRetryBackstop is a day more than the largest retry_for.
	DefaultRetryBackstop = 31 * 24 * time.Hour
	DefaultRetryWindow   = 7 * 24 * time.Hour
)

func (o Options) withDefaults() Options {
	if o.HistoryLimit <= 0 {
		o.HistoryLimit = DefaultHistoryLimit
	}
	if o.ActivityTimeout <= 0 {
		o.ActivityTimeout = time.Minute
	}
	if o.RetryInitial <= 0 {
		o.RetryInitial = time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 10 * time.Minute
	}
	if o.RetryAttempts <= 0 {
		o.RetryAttempts = 25
	}
	if o.RetryBackstop <= 0 {
		o.RetryBackstop = DefaultRetryBackstop
	}
	if o.RetryWindow <= 0 {
		o.RetryWindow = DefaultRetryWindow
	}
	return o
}

// Workflows holds the workflow types: CustomerJourney, PlaybookRun and
// OwnerCalendar.
type Workflows struct {
	pb   *Playbooks
	opts Options
}

// New returns the workflows over a worker's playbooks.
func New(pb *Playbooks, opts Options) *Workflows {
	return &Workflows{pb: pb, opts: opts.withDefaults()}
}

// Register registers the workflow types under their names in
// docs/temporal.md: the journey, the run and the owners' calendars.
func (w *Workflows) Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(w.CustomerJourney, workflow.RegisterOptions{Name: JourneyWorkflow})
	r.RegisterWorkflowWithOptions(w.PlaybookRun, workflow.RegisterOptions{Name: RunWorkflow})
	r.RegisterWorkflowWithOptions(w.OwnerCalendar, workflow.RegisterOptions{Name: OwnerWorkflow})
}

// timeline keeps the latest records of a workflow for its query.
const maxTimeline = 500

func appendCapped(l []lang.Record, r lang.Record) []lang.Record {
	l = append(l, r)
	if len(l) > maxTimeline {
		l = l[len(l)-maxTimeline:]
	}
	return l
}

func (w *Workflows) observe(ctx workflow.Context, r lang.Record) {
	if w.opts.OnRecord != nil && !workflow.IsReplaying(ctx) {
		w.opts.OnRecord(r)
	}
}

func (w *Workflows) tooLong(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	return info.GetCurrentHistoryLength() >= w.opts.HistoryLimit || info.GetContinueAsNewSuggested()
}
