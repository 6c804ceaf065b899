package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"

	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/engine/lang"
)

// Reasons of tend_events_rejected_total.
const (
	reasonInvalid      = "invalid"
	reasonTooLarge     = "too_large"
	reasonRateLimited  = "rate_limited"
	reasonUnauthorized = "unauthorized"
	reasonUnavailable  = "unavailable"
	reasonMalformed    = "malformed"
	reasonFailed       = "failed"
)

// acceptedBody is the 202 answer to POST /v1/events.
type acceptedBody struct {
	Accepted int      `json:"accepted"`
	IDs      []string `json:"ids"`
}

// invalidBody is the 400 answer to a batch with invalid events.
type invalidBody struct {
	Errors control.EventErrors `json:"errors"`
}

// partialBody is the answer to a batch that Temporal took in part.
type partialBody struct {
	Error    string   `json:"error"`
	Accepted int      `json:"accepted"`
	IDs      []string `json:"ids"`
	Sent     []int    `json:"sent"`
}

// postEvents is POST /v1/events.
func (s *Server) postEvents(w http.ResponseWriter, r *http.Request, body []byte) {
	info := infoOf(r)
	info.events = 0
	now := s.now()
	set := s.opts.Set()
	if set == nil {
		s.metrics.rejected.WithLabelValues(reasonUnavailable).Inc()
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfterUnavailable))
		writeError(w, http.StatusServiceUnavailable, "no playbook set is loaded yet, so events cannot be checked")
		return
	}
	events, errs := s.prepare(r, body, set.Schema, now)
	if events == nil {
		s.metrics.rejected.WithLabelValues(reasonMalformed).Inc()
		writeError(w, http.StatusBadRequest, errs[0].Message)
		return
	}
	n := len(events)
	info.events = n
	if len(errs) > 0 {
		s.metrics.rejected.WithLabelValues(reasonInvalid).Add(float64(n))
		writeJSON(w, http.StatusBadRequest, invalidBody{Errors: errs})
		return
	}

	var cancel func()
	if lim := s.limiter(info.id); lim != nil {
		res := lim.ReserveN(now, n)
		if !res.OK() {
			s.metrics.rejected.WithLabelValues(reasonRateLimited).Add(float64(n))
			// Not a 429: sending the same body again can never succeed.
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf(
				"a batch of %d events is more than the rate limit allows at once (%d); split it into batches of at most %d", n, s.burst, s.burst))
			return
		}
		if d := res.DelayFrom(now); d > 0 {
			res.CancelAt(now)
			s.metrics.rejected.WithLabelValues(reasonRateLimited).Add(float64(n))
			secs := int(math.Ceil(d.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			writeError(w, http.StatusTooManyRequests, fmt.Sprintf(
				"rate limit of %s events per second for this credential exceeded; retry after %d s", strconv.FormatFloat(s.opts.RateLimit, 'f', -1, 64), secs))
			return
		}
		cancel = func() { res.CancelAt(now) }
	}

	// Check Temporal first, cheaply, so that an outage is a 503 with
	// nothing sent rather than a send that stops part way.
	if err := s.healthy(); err != nil {
		if cancel != nil {
			cancel()
		}
		s.metrics.rejected.WithLabelValues(reasonUnavailable).Add(float64(n))
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfterUnavailable))
		writeError(w, http.StatusServiceUnavailable, err.Error()+"; nothing was sent, retry later")
		return
	}

	ids := make([]string, n)
	for i, ev := range events {
		ids[i] = ev.ID
	}
	// A client that goes away does not stop a batch half way: it will
	// retry, and ids make the retry safe, but a whole batch is simpler.
	ctx, cancelCtx := context.WithTimeout(context.WithoutCancel(r.Context()), requestTimeout)
	defer cancelCtx()
	count, err := control.Send(ctx, s.opts.Client, events, control.SendOptions{})
	if err == nil {
		s.metrics.accepted.Add(float64(n))
		writeJSON(w, http.StatusAccepted, acceptedBody{Accepted: n, IDs: ids})
		return
	}
	s.metrics.accepted.Add(float64(count))
	sent := []int{}
	var se *control.SendError
	if errors.As(err, &se) {
		for i, ok := range se.Sent {
			if ok {
				sent = append(sent, i)
			}
		}
	}
	status, reason := http.StatusInternalServerError, reasonFailed
	var exhausted *serviceerror.ResourceExhausted
	if control.IsUnavailable(err) || errors.As(err, &exhausted) {
		status, reason = http.StatusServiceUnavailable, reasonUnavailable
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfterUnavailable))
	}
	s.metrics.rejected.WithLabelValues(reason).Add(float64(n - count))
	s.log.Warn().Int("sent", count).Int("events", n).Str("error", err.Error()).Msg("events sent in part")
	writeJSON(w, status, partialBody{
		Error:    err.Error() + "; the events listed in sent were accepted, send the others again with the same ids",
		Accepted: count, IDs: ids, Sent: sent,
	})
}

// prepare decodes and checks a POST /v1/events body and gives an id to
// every event without one. A body that is not a batch at all gives nil
// events and one error; otherwise errs lists every problem of every event,
// by index and field (nothing may be sent then).
func (s *Server) prepare(r *http.Request, body []byte, schema *lang.Schema, now time.Time) ([]*lang.Event, control.EventErrors) {
	events, errs, err := control.DecodeBatch(body, control.DecodeOptions{Now: now})
	if err != nil {
		return nil, control.EventErrors{{Message: err.Error()}}
	}
	newID := s.idMaker(r, body)
	for i, ev := range events {
		if ev != nil && ev.ID == "" && !hasErr(errs, i, "id") {
			ev.ID = newID(i)
		}
	}
	// control.Check is given only the events that decoded, and its
	// problems are mapped back to their indexes; a problem the decoder
	// already reported for a field (a bad at, say) is not reported twice.
	var decoded []*lang.Event
	var index []int
	for i, ev := range events {
		if ev != nil {
			decoded = append(decoded, ev)
			index = append(index, i)
		}
	}
	for _, e := range control.Check(schema, decoded, control.DecodeOptions{Now: now, NewID: control.RandomID}) {
		e.Index = index[e.Index]
		if !hasErr(errs, e.Index, e.Field) {
			errs = append(errs, e)
		}
	}
	slices.SortStableFunc(errs, func(a, b control.EventError) int {
		if a.Index != b.Index {
			return a.Index - b.Index
		}
		return strings.Compare(a.Field, b.Field)
	})
	return events, errs
}

func hasErr(errs control.EventErrors, index int, field string) bool {
	for _, e := range errs {
		if e.Index == index && e.Field == field {
			return true
		}
	}
	return false
}

// idMaker returns how the events of r without an id get one, by index:
// from the Idempotency-Key and the credential, from the signature, or at
// random.
func (s *Server) idMaker(r *http.Request, body []byte) func(i int) string {
	if key := r.Header.Get(HeaderIdempotencyKey); key != "" {
		cred := infoOf(r).id
		// The body is part of the id: a retry of the same request is
		// applied once, and a key reused for a different body does not
		// silently drop the new events.
		sum := sha256.Sum256(body)
		bodyHash := hex.EncodeToString(sum[:])
		return func(i int) string {
			return "idem_" + hash(cred+"\x00"+key+"\x00"+bodyHash+"\x00"+strconv.Itoa(i))
		}
	}
	if sig := r.Header.Get(HeaderSignature); sig != "" && infoOf(r).cred == "signed" {
		return func(i int) string { return SignedEventID(sig, i) }
	}
	return func(int) string { return control.RandomID() }
}

// SignedEventID is the id given to the event at index i of a signed request
// that has no id of its own: "sig_" and 32 hex digits of the SHA-256 of the
// X-Tend-Signature header, ":" and i. A signed request replayed within the
// tolerance window therefore carries the same ids, and is applied once.
func SignedEventID(signatureHeader string, i int) string {
	return "sig_" + hash(signatureHeader+":"+strconv.Itoa(i))
}

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])[:32]
}
