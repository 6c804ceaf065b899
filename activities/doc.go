// Package activities carries out the engine's actions as Temporal
// activities: email, surveys, calendar invites, task notices, escalations,
// chat messages and webhooks. It imports engine, never workflows: both
// sides speak engine.Action.
//
// # Activity names
//
// Register adds one activity per action kind, each taking an engine.Action
// and returning a Result: "Email" (email), "Survey" (survey), "Call"
// (call), "Training" (training), "Task" (task), "Escalate" (escalate),
// "Notify" (notify) and "Webhook" (webhook). Kind update is not an
// activity: the workflow applies it. It also registers "BookSlot", which
// takes an engine.BookRequest, puts the owner's staff settings into it
// and books the meeting's slot in the owner's calendar through
// Options.Book (an update-with-start of the OwnerCalendar workflow),
// returning the slot's start.
//
// # Channels
//
//   - Email and Survey send the rendered Subject and Body to To and Cc over
//     SMTP, with Reply-To when Action.ReplyTo is set. The body is Markdown:
//     it goes out as multipart/alternative, a text/plain part without
//     markup and a text/html part rendered by goldmark (CommonMark, raw
//     HTML left out). The engine escaped the interpolated values. A survey
//     adds a signed link per score (0-10 for nps, 1-5 for csat): a list in
//     the text part, buttons in the HTML part. Mail marked unsubscribe
//     carries List-Unsubscribe (a signed https link) and
//     List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 8058), and
//     the same link in a footer of both parts. Both need Options.Links;
//     without it they fail for good, saying so.
//   - Call and Training send an iCalendar invite (METHOD:REQUEST) to the
//     owner and the attendees: a text/plain summary, the invite as a
//     text/calendar alternative, and invite.ics attached (text/calendar;
//     charset=UTF-8; method=REQUEST). The event's UID
//     is stable per action key, so a resend updates the event instead of
//     adding a second one.
//   - Task emails the owner that a task is theirs, with its id, which
//     `tend tasks complete` takes.
//   - Escalate emails the person escalated to when SMTP is configured, and
//     posts to Action.Channel (or the default channel) when chat is, with
//     a <@id> mention when Options.Users knows their chat id. A retry does
//     not repeat the channel that went through (see Idempotency).
//   - Notify posts {"text": ...} to a Slack-compatible incoming webhook:
//     Action.Channel, or the default channel.
//   - Webhook posts JSON to the named endpoint (below).
//
// A kind whose channel is not configured at all (no SMTP server, no chat
// channels, no endpoints) writes to the outbox instead, so `tend dev` works
// with no configuration.
//
// # Idempotency
//
// Outreach is at least once: Temporal retries an activity whose worker
// died. Every message carries the action's key, stable per (run, step,
// occurrence), so receivers can drop repeats:
//
//   - Email: Message-ID <h@domain>, where h is engine.MailKey of the
//     installation id (Options.InstallationID) and the key, the first 32
//     hex digits of SHA-256(installation id, NUL, key), and domain is the
//     domain of the From address (localhost when no email is configured),
//     and the header X-Tend-Key: <h>, opaque: it names no playbook or
//     customer. The worker logs h as mail_key beside the key. Surveys add
//     X-Tend-Survey: nps|csat.
//   - Invites: UID h@domain, with h and domain as above.
//   - Webhooks: the header Idempotency-Key: <key>.
//   - Escalations: the email as above; chat posts carry no key, so the
//     activity records in its heartbeat details that the email, then the
//     chat message, went out, and a retried attempt skips them.
//
// # Webhooks
//
// A webhook is a POST of application/json to the endpoint's URL, with body
//
//	{"key", "customer", "playbook", "run", "step", "occurrence", "fields", "sent_at"}
//
// (fields holds the step's rendered fields; sent_at is RFC 3339) and the
// headers
//
//	Idempotency-Key: <key>
//	X-Tend-Timestamp: <unix seconds>
//	X-Tend-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//
// A receiver recomputes the HMAC over the timestamp header, a dot and the
// raw body with the endpoint's secret, compares it in constant time, and
// rejects timestamps far from its clock. Redirects are not followed.
//
// # Outbox
//
// The outbox is a directory of one file per action, named after the key:
// "/" becomes "+", letters, digits and - . _ @ stay, and every other byte
// becomes %XX (so enterprise-onboarding/acme/1/welcome/1 is
// enterprise-onboarding+acme+1+welcome+1). Names longer than 200 bytes are
// cut and end in -<16 hex digits of SHA-256(key)>. The extension says what
// the file holds:
//
//   - .eml: email and survey, the complete RFC 5322 message that SMTP would
//     have carried, Message-ID included.
//   - .ics: call and training, the invite.
//   - .json: task, escalate, notify and webhook: the action's fields that
//     matter (a webhook's includes the exact body it would have posted).
//
// Files are written to a temporary name and renamed, so a reader never
// sees half a file, and a retried action overwrites its own file: however
// often an action runs, it leaves exactly one file. Files are readable by
// their owner only, as they hold personal data.
//
// # Errors
//
// Transient failures (connection refused, timeouts, SMTP 4xx, HTTP 408,
// 429 and 5xx) are ordinary errors, which Temporal retries with backoff; a
// Retry-After header sets the next delay. Retries end with the channel's
// retry horizon (EmailOptions.RetryFor, ChatOptions.RetryFor,
// Endpoint.RetryFor, Options.OutboxRetryFor; DefaultRetryFor unless set),
// counted from the step's first attempt (the activity's ScheduledTime):
// the first transient failure past it is returned as a non-retryable
// ErrTypeGaveUp error, "gave up after 24h0m0s of retries
// (email.retry_for): <the last error>". Permanent ones are non-retryable
// ApplicationErrors whose message names the bad value and whose type is
// one of the ErrType constants: an invalid email address, an SMTP 5xx
// answer to the sender, a recipient or the message, an HTTP 4xx answer,
// an unknown chat channel or endpoint, a survey or marked mail without
// links, a slot request that does not parse. Errors from connecting or logging
// in to the SMTP server stay retryable: they are the worker's
// configuration, which an operator can fix while the action waits.
//
// Each action is logged with zerolog (key, kind, channel, target); message
// bodies and webhook URLs never are.
package activities
