package activities

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/calendar"
	"github.com/tend-cs/tend/engine/lang"
	"github.com/tend-cs/tend/links"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
)

// Name returns the activity type that carries out actions of kind, and
// false for kinds that are not activities (update). The names are those of
// the registry of action kinds (lang.Actions); workflows schedule
// activities by them.
func Name(kind string) (string, bool) { return lang.ActivityName(kind) }

// Types of the non-retryable ApplicationErrors the activities return.
const (
	ErrTypeInvalidAddress  = "InvalidAddress"  // an email address that does not parse
	ErrTypeRejected        = "Rejected"        // SMTP 5xx or HTTP 4xx: the receiver refused for good
	ErrTypeUnknownChannel  = "UnknownChannel"  // a chat channel that is not configured
	ErrTypeUnknownEndpoint = "UnknownEndpoint" // a webhook endpoint that is not configured
	ErrTypeInvalidAction   = "InvalidAction"   // an action missing what its kind needs
)

// Result says what an activity did.
type Result struct {
	// Channel is "smtp", "outbox", "chat" or "webhook"; "smtp+chat" for an
	// escalation sent both ways.
	Channel string `json:"channel"`
	// Target is the chat channel or webhook endpoint posted to.
	Target string `json:"target,omitempty"`
	// MessageID is the Message-ID of an email, angle brackets included.
	MessageID string `json:"message_id,omitempty"`
	// UID is the iCalendar UID of an invite.
	UID string `json:"uid,omitempty"`
	// File is the outbox file written.
	File string `json:"file,omitempty"`
	// Status is the HTTP status of a chat post or webhook.
	Status int `json:"status,omitempty"`
}

// Options configure the activities; cmd fills them from config.Config.
type Options struct {
	// Outbox is the directory for outreach whose channel is not configured.
	Outbox string
	// Email is the SMTP server; nil sends email, surveys, invites and task
	// notices to the outbox.
	Email *EmailOptions
	// Chat holds the chat channels; none sends notifications to the outbox.
	Chat ChatOptions
	// Users are people's chat user ids (Slack member ids such as U0123ABC)
	// by email address, so that an escalation's chat message mentions the
	// person escalated to.
	Users map[string]string
	// Endpoints are the webhook targets by name; none sends webhooks to the outbox.
	Endpoints map[string]Endpoint
	// HTTPClient posts chat messages and webhooks. Nil means a client that
	// does not follow redirects; timeouts come from the endpoint or
	// channel either way.
	HTTPClient *http.Client
	// Links signs the survey links and unsubscribe links of customer mail;
	// nil fails surveys and mail marked unsubscribe for good, saying why.
	Links *links.Config
	// Now is the clock for Date headers, DTSTAMP and webhook timestamps.
	// Nil means time.Now.
	Now func() time.Time
	// Book books meeting slots in the owners' calendars (BookSlot); node
	// wires the Temporal one. Staff are the owners' working calendars
	// that BookSlot puts into each request.
	Book  Booker
	Staff engine.Staff
	// InstallationID salts Message-IDs, invite UIDs and X-Tend-Key (see
	// engine.MailKey), so that two installations, or one before and after
	// a reset, never send mail a receiver takes for a duplicate. Workers
	// read it with control.EnsureInstallationID.
	InstallationID string
	// OutboxRetryFor is how long writing to the outbox retries before the
	// step fails; 0 means DefaultRetryFor.
	OutboxRetryFor time.Duration
}

// EmailOptions is an SMTP server and the sender of every message.
type EmailOptions struct {
	Addr     string // host:port
	Username string // empty: no authentication
	Password string
	From     string // RFC 5322 address, such as "Customer Success <cs@vendor.example>"
	// TLS is "starttls" (the default: STARTTLS, required), "tls" (implicit
	// TLS) or "none".
	TLS string
	// TLSConfig overrides the TLS settings, for example to trust a private CA.
	TLSConfig *tls.Config
	// Timeout bounds connecting and each SMTP command; 0 means 30s.
	Timeout time.Duration
	// RetryFor is how long transient SMTP failures are retried, counted
	// from the step's first attempt; 0 means DefaultRetryFor.
	RetryFor time.Duration
}

// ChatOptions are Slack-compatible incoming webhooks by channel name.
type ChatOptions struct {
	// Default is the channel of a notify that names none; with a single
	// channel, that channel.
	Default string
	// Channels maps channel names to incoming-webhook URLs.
	Channels map[string]string
	// Timeout bounds each post; 0 means 10s.
	Timeout time.Duration
	// RetryFor is how long transient chat failures are retried; 0 means
	// DefaultRetryFor.
	RetryFor time.Duration
}

// Endpoint is a webhook target.
type Endpoint struct {
	URL string
	// Secret keys the X-Tend-Signature HMAC.
	Secret string
	// Timeout bounds each request; 0 means 10s.
	Timeout time.Duration
	// RetryFor is how long transient failures of the endpoint are
	// retried; 0 means DefaultRetryFor.
	RetryFor time.Duration
}

// DefaultRetryFor is how long a channel's transient failures are retried
// when its options set no RetryFor.
const DefaultRetryFor = 24 * time.Hour

const (
	defaultFrom        = "tend <tend@localhost>"
	defaultSMTPTimeout = 30 * time.Second
	defaultHTTPTimeout = 10 * time.Second
)

// Activities carries out actions. Its methods are the activities; they
// are safe for concurrent use.
type Activities struct {
	outbox    string
	email     *EmailOptions
	from      *mail.Address
	chat      ChatOptions
	users     map[string]string // by lower-case address
	endpoints map[string]Endpoint
	http      *http.Client
	links     *links.Signer
	now       func() time.Time
	log       zerolog.Logger
	book      Booker
	staff     engine.Staff
	install   string
	outboxFor time.Duration
}

// New checks opts and returns the activities.
func New(opts Options, log zerolog.Logger) (*Activities, error) {
	a := &Activities{
		outbox:    opts.Outbox,
		email:     opts.Email,
		chat:      opts.Chat,
		endpoints: opts.Endpoints,
		http:      opts.HTTPClient,
		now:       opts.Now,
		log:       log,
		book:      opts.Book,
		staff:     opts.Staff,
		install:   opts.InstallationID,
		outboxFor: orDefault(opts.OutboxRetryFor),
	}
	if a.outbox == "" {
		return nil, errors.New("activities: the outbox directory is not set")
	}
	if opts.Links != nil {
		l, err := links.New(*opts.Links)
		if err != nil {
			return nil, fmt.Errorf("activities: links: %w", err)
		}
		a.links = l
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.http == nil {
		a.http = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	a.users = map[string]string{}
	for addr, id := range opts.Users {
		a.users[strings.ToLower(strings.TrimSpace(addr))] = id
	}
	if a.chat.Timeout <= 0 {
		a.chat.Timeout = defaultHTTPTimeout
	}
	a.chat.RetryFor = orDefault(a.chat.RetryFor)
	from := defaultFrom
	if e := a.email; e != nil {
		e2 := *e
		a.email = &e2
		if e2.From != "" {
			from = e2.From
		}
		if _, _, err := net.SplitHostPort(e2.Addr); err != nil {
			return nil, fmt.Errorf("activities: smtp address %q must be host:port", e2.Addr)
		}
		switch e2.TLS {
		case "":
			a.email.TLS = "starttls"
		case "starttls", "tls", "none":
		default:
			return nil, fmt.Errorf("activities: smtp tls %q must be starttls, tls or none", e2.TLS)
		}
		if e2.Timeout <= 0 {
			a.email.Timeout = defaultSMTPTimeout
		}
		a.email.RetryFor = orDefault(e2.RetryFor)
	}
	addr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("activities: from address %q: %s", from, lower(strings.TrimPrefix(err.Error(), "mail: ")))
	}
	a.from = addr
	if a.chat.Default == "" && len(a.chat.Channels) == 1 {
		a.chat.Default = keys(a.chat.Channels)[0]
	}
	if d := a.chat.Default; d != "" {
		if _, ok := a.chat.Channels[d]; !ok {
			return nil, fmt.Errorf("activities: default chat channel %s is not among the channels (%s)", d, list(keys(a.chat.Channels)))
		}
	}
	for name, u := range a.chat.Channels {
		if err := checkURL(u); err != nil {
			return nil, fmt.Errorf("activities: chat channel %s: the webhook %s", name, err)
		}
	}
	for name, e := range a.endpoints {
		if err := checkURL(e.URL); err != nil {
			return nil, fmt.Errorf("activities: endpoint %s: the url %s", name, err)
		}
		if e.Secret == "" {
			return nil, fmt.Errorf("activities: endpoint %s has no secret", name)
		}
	}
	return a, nil
}

// checkURL's message leaves the URL out: chat webhook URLs are secrets.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("is not an http or https URL")
	}
	return nil
}

// Register registers every activity on r (a worker, or a test
// environment) under its fixed name, one per action of lang.Actions that
// an activity carries out, and BookSlot.
func (a *Activities) Register(r worker.ActivityRegistry) {
	fns := map[string]func(context.Context, engine.Action) (Result, error){
		lang.ActionEmail:    a.Email,
		lang.ActionSurvey:   a.Survey,
		lang.ActionCall:     a.Call,
		lang.ActionTraining: a.Training,
		lang.ActionTask:     a.Task,
		lang.ActionEscalate: a.Escalate,
		lang.ActionNotify:   a.Notify,
		lang.ActionWebhook:  a.Webhook,
	}
	for _, k := range lang.Actions {
		if k.Activity == "" {
			continue // the journey applies it
		}
		fn, ok := fns[k.Name]
		if !ok {
			panic("activities: no activity carries out do: " + k.Name)
		}
		r.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: k.Activity})
	}
	r.RegisterActivityWithOptions(a.BookSlot, activity.RegisterOptions{Name: engine.BookSlotActivity})
}

// Email sends a customer-facing email.
func (a *Activities) Email(ctx context.Context, act engine.Action) (Result, error) {
	return a.run(ctx, act, func() (Result, error) { return a.sendMessage(ctx, act) })
}

// Survey sends a survey email with a signed link for each score (as a
// list in the text part and buttons in the HTML part); Action.Survey (nps
// or csat) goes in the X-Tend-Survey header.
func (a *Activities) Survey(ctx context.Context, act engine.Action) (Result, error) {
	return a.run(ctx, act, func() (Result, error) { return a.sendMessage(ctx, act) })
}

// Call sends a calendar invite for a call to the owner and the attendees.
func (a *Activities) Call(ctx context.Context, act engine.Action) (Result, error) {
	return a.run(ctx, act, func() (Result, error) { return a.sendInvite(ctx, act) })
}

// Training sends a calendar invite for a training session.
func (a *Activities) Training(ctx context.Context, act engine.Action) (Result, error) {
	return a.run(ctx, act, func() (Result, error) { return a.sendInvite(ctx, act) })
}

// Task tells the owner about a new task. The task itself lives in the
// workflow.
func (a *Activities) Task(ctx context.Context, act engine.Action) (Result, error) {
	return a.run(ctx, act, func() (Result, error) {
		if a.email == nil {
			return a.writeJSON(act, outboxRecord(act))
		}
		return a.sendNotice(ctx, act, act.Owner, "owner", taskSubject(act), taskBody(act))
	})
}

// Escalate tells the person escalated to (Action.To) by email when SMTP is
// configured, and in chat when chat is: in Action.Channel, or the default
// channel, mentioning them when Options.Users has their chat id. With
// neither, it writes to the outbox.
//
// Each channel is sent once however often the activity is retried: after
// the email goes, the activity records that in its heartbeat details, which
// Temporal hands to the next attempt, so a retry after a chat failure does
// not mail again (and the other way round).
func (a *Activities) Escalate(ctx context.Context, act engine.Action) (Result, error) {
	return a.run(ctx, act, func() (Result, error) {
		channel := act.Channel
		if channel == "" {
			channel = a.chat.Default
		}
		if len(a.chat.Channels) == 0 {
			channel = ""
		}
		if channel == "" && a.email == nil {
			return a.writeJSON(act, outboxRecord(act))
		}
		var done escalation
		if activity.IsActivity(ctx) && activity.HasHeartbeatDetails(ctx) {
			_ = activity.GetHeartbeatDetails(ctx, &done)
		}
		res := done.Result
		if a.email != nil && !done.Email {
			r, err := a.sendNotice(ctx, act, act.To, "to", escalationSubject(act), escalationBody(act))
			if err != nil {
				return Result{}, err
			}
			res, done.Email, done.Result = r, true, r
			if activity.IsActivity(ctx) {
				activity.RecordHeartbeat(ctx, done)
			}
		}
		if channel != "" && !done.Chat {
			r, err := a.postChat(ctx, act, channel, a.escalationText(act))
			if err != nil {
				return Result{}, err
			}
			done.Chat = true
			if activity.IsActivity(ctx) {
				activity.RecordHeartbeat(ctx, done)
			}
			res.Target, res.Status = r.Target, r.Status
			if res.Channel == "" {
				res.Channel = r.Channel
			} else {
				res.Channel += "+" + r.Channel
			}
		}
		return res, nil
	})
}

// escalation is what an escalation has sent so far, kept across retries
// in the activity's heartbeat details.
type escalation struct {
	Email  bool   `json:"email"`
	Chat   bool   `json:"chat"`
	Result Result `json:"result"`
}

// Notify posts Action.Text to a chat channel.
func (a *Activities) Notify(ctx context.Context, act engine.Action) (Result, error) {
	return a.run(ctx, act, func() (Result, error) {
		if len(a.chat.Channels) == 0 {
			return a.writeJSON(act, outboxRecord(act))
		}
		return a.postChat(ctx, act, act.Channel, act.Text)
	})
}

// Webhook posts the action's fields, signed, to a configured endpoint.
func (a *Activities) Webhook(ctx context.Context, act engine.Action) (Result, error) {
	return a.run(ctx, act, func() (Result, error) { return a.postWebhook(ctx, act) })
}

// run checks what every action needs, gives up on a transient failure
// once its channel's retry horizon has passed, and logs the outcome.
func (a *Activities) run(ctx context.Context, act engine.Action, do func() (Result, error)) (Result, error) {
	var res Result
	var err error
	if act.Key == "" {
		err = permanent(ErrTypeInvalidAction, "%s action has no key", act.Kind)
	} else {
		res, err = do()
	}
	err = a.horizon(ctx, err)
	ev := a.log.Info()
	if err != nil {
		ev = a.log.Warn().Err(err)
	}
	ev = ev.Str("key", act.Key).Str("mail_key", a.mailKey(act.Key)).Str("kind", act.Kind)
	if res.Channel != "" {
		ev = ev.Str("channel", res.Channel)
	}
	if res.Target != "" {
		ev = ev.Str("target", res.Target)
	}
	if res.File != "" {
		ev = ev.Str("file", res.File)
	}
	if res.Status != 0 {
		ev = ev.Int("status", res.Status)
	}
	if err != nil {
		ev.Msg("action failed")
	} else {
		ev.Msg("action done")
	}
	return res, err
}

// keyHash is the first 32 hex digits of SHA-256(key), for outbox file
// names too long to keep whole.
func keyHash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])[:32]
}

// mailKey is the opaque, installation-salted key of an action's mail:
// the local part of its Message-ID and invite UID, and its X-Tend-Key.
func (a *Activities) mailKey(key string) string { return engine.MailKey(a.install, key) }

// domain is the sender's domain, for Message-IDs and invite UIDs:
// localhost when no email is configured (the outbox).
func (a *Activities) domain() string {
	if i := strings.LastIndexByte(a.from.Address, '@'); i >= 0 && i+1 < len(a.from.Address) {
		return a.from.Address[i+1:]
	}
	return "localhost"
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func list(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func lower(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// location is the customer's time zone for times in message text, UTC
// when it is unknown.
func location(act engine.Action) *time.Location {
	if act.Timezone != "" {
		if loc, err := calendar.LoadLocation(act.Timezone); err == nil {
			return loc
		}
	}
	return time.UTC
}

func formatTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("Mon 2 Jan 2006 15:04 MST")
}
