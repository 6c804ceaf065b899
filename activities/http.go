package activities

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/tend-cs/tend/engine"
)

// postChat posts text to a chat channel: name, or the default channel
// when name is empty.
func (a *Activities) postChat(ctx context.Context, act engine.Action, name, text string) (Result, error) {
	if name == "" {
		name = a.chat.Default
	}
	if name == "" {
		return Result{}, permanent(ErrTypeUnknownChannel, "%s names no chat channel and there is no default channel; channels are %s", act.Kind, list(keys(a.chat.Channels)))
	}
	hook, ok := a.chat.Channels[name]
	if !ok {
		return Result{}, permanent(ErrTypeUnknownChannel, "unknown chat channel %s; channels are %s", name, list(keys(a.chat.Channels)))
	}
	body, err := json.Marshal(struct {
		Text string `json:"text"`
	}{text})
	if err != nil {
		return Result{}, err
	}
	status, err := a.post(ctx, "chat channel "+name, hook, body, nil, a.chat.Timeout)
	if err != nil {
		return Result{}, outage(err, a.chat.RetryFor, "chat.retry_for")
	}
	return Result{Channel: "chat", Target: name, Status: status}, nil
}

// webhookBody is the JSON a webhook posts.
type webhookBody struct {
	Key        string            `json:"key"`
	Customer   string            `json:"customer"`
	Playbook   string            `json:"playbook"`
	Run        string            `json:"run"`
	Step       string            `json:"step"`
	Occurrence int               `json:"occurrence"`
	Fields     map[string]string `json:"fields"`
	SentAt     time.Time         `json:"sent_at"`
}

func (a *Activities) postWebhook(ctx context.Context, act engine.Action) (Result, error) {
	now := a.now()
	fields := act.Fields
	if fields == nil {
		fields = map[string]string{}
	}
	body, err := json.Marshal(webhookBody{
		Key: act.Key, Customer: act.Customer, Playbook: act.Playbook, Run: act.Run,
		Step: act.Step, Occurrence: act.Occurrence, Fields: fields, SentAt: now.UTC().Truncate(time.Second),
	})
	if err != nil {
		return Result{}, err
	}
	if len(a.endpoints) == 0 {
		rec := outboxRecord(act)
		rec.Body = body
		return a.writeJSON(act, rec)
	}
	ep, ok := a.endpoints[act.Endpoint]
	if !ok {
		return Result{}, permanent(ErrTypeUnknownEndpoint, "unknown webhook endpoint %q; endpoints are %s", act.Endpoint, list(keys(a.endpoints)))
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	headers := map[string]string{
		"Idempotency-Key":  headerValue(act.Key),
		"X-Tend-Timestamp": ts,
		"X-Tend-Signature": Sign(ep.Secret, ts, body),
	}
	timeout := ep.Timeout
	if timeout <= 0 {
		timeout = defaultHTTPTimeout
	}
	status, err := a.post(ctx, "webhook "+act.Endpoint, ep.URL, body, headers, timeout)
	if err != nil {
		return Result{}, outage(err, orDefault(ep.RetryFor), "endpoints."+act.Endpoint+".retry_for")
	}
	return Result{Channel: "webhook", Target: act.Endpoint, Status: status}, nil
}

// Sign returns the X-Tend-Signature of a webhook: "sha256=" and the hex
// HMAC-SHA256, keyed with secret, of timestamp + "." + body.
func Sign(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// post sends a JSON POST and classifies the answer; what names the target
// in errors, never its URL.
func (a *Activities) post(ctx context.Context, what, url string, body []byte, headers map[string]string, timeout time.Duration) (int, error) {
	// As an SMTP transaction, the call ends before the attempt's deadline,
	// so that its time-out counts toward retry_for.
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, max(time.Until(dl)-attemptMargin, time.Millisecond))
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, permanent(ErrTypeInvalidAction, "%s: invalid request: %s", what, transportError("", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tend")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, transportError(what, err)
	}
	defer resp.Body.Close()
	// Read a little of the answer for the error message, and drain the
	// rest so the connection can be reused.
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, nil
	}
	return resp.StatusCode, httpError(what, resp, answer)
}
