package activities

import (
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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
