package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

// permanent is a failure that retrying cannot fix: Temporal fails the
// activity at once and the run records the message.
func permanent(errType, format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), errType, nil)
}

// smtpError classifies an SMTP command's error: a 5xx reply is permanent,
// anything else (4xx, a broken connection, a timeout) is retried.
func smtpError(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	var te *textproto.Error
	if errors.As(err, &te) {
		msg := fmt.Sprintf("%s: %03d %s", what, te.Code, strings.TrimSpace(te.Msg))
		if te.Code >= 500 && te.Code < 600 {
			return permanent(ErrTypeRejected, "%s", msg)
		}
		return errors.New(msg)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// httpError classifies an HTTP answer that is not 2xx. 408, 429 and 5xx
// are retried, after Retry-After when the server sets it; the rest is
// permanent.
func httpError(what string, resp *http.Response, body []byte) error {
	msg := fmt.Sprintf("%s answered %s", what, resp.Status)
	if snippet := bodySnippet(resp.Header.Get("Content-Type"), body); snippet != "" {
		msg += ": " + snippet
	}
	code := resp.StatusCode
	if code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500 {
		if d := retryAfter(resp.Header.Get("Retry-After")); d > 0 {
			return temporal.NewApplicationErrorWithOptions(msg, "Transient", temporal.ApplicationErrorOptions{NextRetryDelay: d})
		}
		return errors.New(msg)
	}
	if code >= 300 && code < 400 {
		msg += "; redirects are not followed, configure the final URL"
	}
	return permanent(ErrTypeRejected, "%s", msg)
}

// transportError describes a failed request without its URL, which for
// chat webhooks is a secret.
func transportError(what string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if what == "" {
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}

// retryAfter reads a Retry-After header in seconds, capped at an hour;
// HTTP dates are rare from webhooks and left to the retry policy.
func retryAfter(h string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(h))
	if err != nil || n <= 0 {
		return 0
	}
	return min(time.Duration(n)*time.Second, time.Hour)
}

// bodySnippet is the start of a plain-text or JSON answer, on one line,
// which often says what the receiver did not like. HTML error pages are
// left out: their first 200 bytes say nothing.
func bodySnippet(contentType string, body []byte) string {
	ct := strings.ToLower(contentType)
	if ct != "" && !strings.HasPrefix(ct, "text/plain") && !strings.Contains(ct, "json") {
		return ""
	}
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > 200 {
		s = s[:200]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s = strings.TrimRight(s, " ") + "..."
	}
	return s
}

// ErrTypeGaveUp is the type of the error of a step whose channel failed
// transiently for longer than its retry horizon (retry_for).
const ErrTypeGaveUp = "GaveUp"

// outageError is a transient failure of a channel, with the channel's
// retry horizon and the tend.yaml key that sets it. run unwraps it.
type outageError struct {
	err      error
	retryFor time.Duration
	key      string
}

func (e *outageError) Error() string { return e.err.Error() }
func (e *outageError) Unwrap() error { return e.err }

// outage marks a transient failure of a channel with its retry horizon;
// a permanent one is returned as it is.
func outage(err error, retryFor time.Duration, key string) error {
	if err == nil || !retryable(err) {
		return err
	}
	return &outageError{err: err, retryFor: orDefault(retryFor), key: key}
}

// retryable reports whether Temporal would retry err.
func retryable(err error) bool {
	var app *temporal.ApplicationError
	return !errors.As(err, &app) || !app.NonRetryable()
}

func orDefault(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultRetryFor
	}
	return d
}

// horizon turns a transient failure into a permanent one once the step
// has been retried for longer than its channel's horizon, counted from
// the first attempt: Temporal's ScheduledTime is when the activity was
// first scheduled, not this attempt. Workflows retry without an attempt
// cap, so this is what ends an outage's retries; the message keeps the
// last error.
func (a *Activities) horizon(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	d, key := a.outboxFor, "the outbox's retry horizon"
	var o *outageError
	if errors.As(err, &o) {
		d, key = o.retryFor, o.key
		err = o.err
	}
	if !retryable(err) || !activity.IsActivity(ctx) {
		return err
	}
	first := activity.GetInfo(ctx).ScheduledTime
	if first.IsZero() || time.Since(first) < d {
		return err
	}
	// The message carries the last error already: as the cause too, it
	// would be printed twice in every log line and failure.
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf("gave up after %s of retries (%s): %s", d, key, err), ErrTypeGaveUp, nil)
}
