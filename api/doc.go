// Package api is tend's HTTP API: `tend serve` runs it against a Temporal
// cluster, and `tend dev` runs it in-process. A Server is an http.Handler;
// Serve runs one on a listener and, when its context ends, drains the
// requests in flight (up to ShutdownTimeout) before returning. Everything
// that talks to Temporal goes through package control.
//
// # Endpoints
//
// Bodies are JSON. An error is {"error": "..."} with a specific, lower-case
// message, except a 400 for invalid events (below).
//
//	POST /v1/events                  send events
//	GET  /v1/customers/{id}          a customer: id, stage, attributes, runs, rejected events, stats, survey answers
//	GET  /v1/customers/{id}/explain  why each playbook did or did not start for it: ?playbook=
//	GET  /v1/runs                    runs, newest first: ?customer=&playbook=&status=&step=&owner=&limit=
//	GET  /v1/runs/{id}               a run: state, what it waits for, held messages, timeline
//	POST /v1/runs/{id}/retry         retry the failed step of a stalled run, with the same idempotency key
//	POST /v1/runs/retry              retry every stalled run; optional body {"since": "24h"}
//	GET  /v1/tasks                   open tasks, soonest due first: ?owner=&overdue=true|false
//	POST /v1/tasks/{id}/complete     complete a task; optional body {"outcome": "..."}
//	GET  /v1/playbooks               {"version", "playbooks": [...]}: the loaded set and each playbook's triggers
//	GET  /healthz                    {"status": "ok"} when Temporal answers (or "degraded", with the reason), else 503 (no credential needed)
//	GET  /metrics                    Prometheus text (no credential needed)
//	GET  /survey/{token}             a survey link: records the score, answers a page (the link is the credential)
//	POST /survey/{token}             the page's comment form
//	GET  /unsubscribe/{token}        an unsubscribe link: a page whose button confirms; records nothing
//	POST /unsubscribe/{token}        the button, or one-click unsubscribe (RFC 8058): records email_opt_out: true
//
// The link endpoints (links.go) are served when Options.Links is set, and
// answer HTML pages: 200 once the event is handed to the customer's
// journey (the survey's answer event with the link's score, or
// customer.updated {email_opt_out: true}), 403 for a link that is not
// valid (nothing is recorded), 503 when Temporal or the playbook set is not
// there yet. HEAD records nothing. A survey's links all record one event
// id, so a second answer is a duplicate or a revision, never a new answer.
//
// POST /v1/events takes one event object or a JSON array of up to 500,
// each with the fields id, type, customer, at, attributes and data; at is
// RFC 3339 or a bare date (midnight UTC) and defaults to the time of
// receipt. The batch is decoded strictly (an unknown field is an error) and
// checked against the schema of the loaded playbook set: types, fields,
// enums, sizes (an attribute value at most 64 KiB, an event at most
// 256 KiB), customer ids, and years up to 2200. It is all or nothing: if any
// event is invalid, the answer is 400 {"errors": [{"index", "field",
// "message"}]} listing every problem of every event, and nothing is sent. A
// body that is not JSON, not an object or array, empty, or over 500 events
// is 400 {"error": ...}. Otherwise the events are handed to their
// customers' journeys, and the answer is 202 {"accepted": N, "ids": [...]},
// ids in the order of the batch, only once every event is durably with
// Temporal. Customers are sent to concurrently; one customer's events keep
// their order.
//
// GET /v1/customers/{id} is 404 for a customer tend has never received an
// event for. GET /v1/customers/{id}/explain answers, per playbook, the
// decision of the last event and of the last daily check (tend explain
// --format json): 404 for an unknown customer, 400 for an unknown
// playbook (the message lists the set's playbooks); a customer id that
// itself ends in /explain is written with that slash encoded. GET /v1/runs/{id} is 400 for a malformed run id and 404 for an
// unknown run; GET /v1/runs is 400 for an unknown status (the message lists
// the valid ones), a limit outside 1 to 1000, or an unknown query
// parameter. POST /v1/tasks/{id}/complete answers 200 with {"task", "run",
// "status"} once the run has recorded the completion, 400 for a malformed
// task id or body (unknown fields included), 404 for an unknown task, and
// 409 for a task already completed or closed because its run ended.
//
// # Ids in paths
//
// Customer, run and task ids go in the path as given, percent-encoded like
// any path segment: /v1/customers/zo%C3%AB. Run and task ids contain
// slashes (run/enterprise-onboarding/acme/1,
// enterprise-onboarding/acme/1/kickoff/1): encode them as one segment
// (/v1/runs/run%2Fenterprise-onboarding%2Facme%2F1); the unencoded form
// (/v1/runs/run/enterprise-onboarding/acme/1) works too, since the id is
// the rest of the path. Encode ids with "." or ".." segments: an unencoded
// GET path is cleaned (and redirected) like any other, and a POST to a path
// with an empty, . or .. segment is a 400, never redirected (a client
// would send its POST to another endpoint: /v1/runs//retry is not
// /v1/runs/retry).
//
// # Authentication
//
// Every endpoint but /healthz, /metrics and the link endpoints (whose
// signed token is their credential) needs one credential:
//
//   - a bearer token, Authorization: Bearer <token>, compared in constant
//     time with every token of Options.Tokens;
//   - or a signature: X-Tend-Timestamp: <unix seconds> and
//     X-Tend-Signature: sha256=<hex (either case) HMAC-SHA256(secret, timestamp + "." +
//     raw body)>, with the timestamp within ±300 s of the server's clock,
//     checked against every secret of Options.SigningSecrets. Sign makes
//     these headers and VerifySignature checks them.
//
// Several tokens and secrets may be valid at once, for rotation. A
// missing, malformed, wrong or stale credential, or a body changed after
// signing, is 401 with WWW-Authenticate: Bearer and a message saying which,
// and changes nothing. The body is read (at most MaxBody bytes) before a
// signature is checked, so an oversized signed body is a 413.
//
// # Status codes of POST /v1/events
//
//	202  accepted: every event handed to Temporal
//	400  invalid events ({"errors": [...]}), or a malformed body ({"error": ...})
//	401  no valid credential
//	413  body over Options.MaxBody (default 1 MiB), naming the limit; or a
//	     batch larger than the rate limit's burst (max(1, ceil(RateLimit))
//	     events), which can never pass and must be split
//	429  over Options.RateLimit for this credential, with Retry-After (seconds)
//	503  Temporal unreachable, with Retry-After; see below
//	500  Temporal refused an event for another reason; body as a partial 503
//
// The rate limit counts events, per credential (each token and each secret
// is one), and only valid batches use it. Before sending, the API checks
// that Temporal answers (a health check, reused for a second), so that an
// outage is a 503 with nothing sent. If sending fails part way, the answer
// is 503 {"error", "accepted": k, "ids": [every id, in order], "sent":
// [indexes handed over]}: send the events again with the ids of the answer,
// and what was sent already is dropped as a duplicate. Other endpoints answer 503
// with Retry-After too when Temporal, or a worker answering queries, does
// not respond.
//
// # Event ids
//
// An event's id is its idempotency key: a journey applies an id once
// (it remembers the last 10,000), so a repeated id is 202 again and applied
// once. An event sent without an id gets one, returned in ids:
//
//   - with an Idempotency-Key header: "idem_" and a hash of the credential,
//     the key, the body and the event's index, so a retry of the request
//     with the same key, credential and body is applied once (a key is
//     scoped to the credential that sent it, and the same key with another
//     body makes other events);
//   - else, for a signed request: "sig_" and the first 32 hex digits of
//     SHA-256(X-Tend-Signature + ":" + index) (SignedEventID), so a signed
//     request replayed within the ±300 s window is applied once (a request
//     signed again later has a new signature, hence new ids: give ids or an
//     Idempotency-Key to retry across the window);
//   - otherwise a random id (control.RandomID): such an event is not
//     de-duplicated, and sending it twice applies it twice.
//
// # Observability
//
// Each request is logged as one line: method, escaped path (with the token
// of a survey or unsubscribe link redacted), status, duration, credential
// kind (bearer, signed, link or none) and, for POST /v1/events, the event
// count; never a token, a secret or a body. GET
// /metrics serves Options.Registry: tend_events_accepted_total,
// tend_events_rejected_total{reason} (invalid, too_large, rate_limited,
// unauthorized, unavailable, malformed, failed; events where the request
// could be decoded, else requests), tend_http_request_duration_seconds{method,
// route, status} (route is the pattern, never a path with ids), and, when
// the Temporal client was dialed with MetricsHandler on the same registry,
// the SDK's temporal_* metrics.
package api
