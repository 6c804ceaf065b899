package api

import (
	"bytes"
	"net/http"
	"time"

	"github.com/tend-cs/tend/control"
)

// retryRun is POST /v1/runs/{id}/retry: re-drive the failed step of a
// stalled run. The id is one path segment, its slashes encoded
// (/v1/runs/run%2Fonboarding%2Facme%2F1/retry). 200 {"run", "step", "key", "retry"} once the run carries the
// step out again; 400 for a malformed id or a body; 404 for an unknown run;
// 409 for a run that is not stalled or has ended.
func (s *Server) retryRun(w http.ResponseWriter, r *http.Request, body []byte) {
	id := r.PathValue("id") // encoded in one segment, or unencoded (Server.unmatched)
	if !noQuery(w, r) {
		return
	}
	if len(bytes.TrimSpace(body)) > 0 && !bytes.Equal(bytes.TrimSpace(body), []byte("{}")) {
		writeError(w, http.StatusBadRequest, "body: this endpoint takes no body (or {})")
		return
	}
	if err := control.CheckRunID(id); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !s.reachable(w) {
		return
	}
	ctx, cancel := requestContext(r)
	defer cancel()
	res, err := control.RetryRun(ctx, s.opts.Client, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// retryBody is the body of POST /v1/runs/retry.
type retryBody struct {
	// Since is nil when the body leaves it out: every stalled run.
	Since *string `json:"since"`
}

// retryResults is the answer of POST /v1/runs/retry.
type retryResults struct {
	Retried int                    `json:"retried"`
	Failed  int                    `json:"failed"`
	Results []control.RetryOutcome `json:"results"`
}

// retryFailed is POST /v1/runs/retry: re-drive every stalled run, or with
// {"since": "24h"} those whose step failed within it. 200 with one result
// per run ("retried", "not failed", "not found", "not retried") and the
// counts; a client checks failed.
func (s *Server) retryFailed(w http.ResponseWriter, r *http.Request, body []byte) {
	if !noQuery(w, r) {
		return
	}
	var in retryBody
	if !oneKeyBody(w, body, "since", `{"since": "24h"}`, &in) {
		return
	}
	var since time.Time
	if in.Since != nil {
		if *in.Since == "" {
			writeError(w, http.StatusBadRequest, `since is empty: give a duration such as 24h, or leave since out to retry every stalled run`)
			return
		}
		d, err := control.ParseSince(*in.Since)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		since = s.now().Add(-d)
	}
	if !s.reachable(w) {
		return
	}
	ctx, cancel := requestContext(r)
	defer cancel()
	stalled, err := control.StalledRuns(ctx, s.opts.Client, since)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := retryResults{Results: []control.RetryOutcome{}}
	for _, st := range stalled {
		o, err := control.Retry(ctx, s.opts.Client, st.Run)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if o.OK() {
			out.Retried++
		} else {
			out.Failed++
		}
		out.Results = append(out.Results, o)
	}
	writeJSON(w, http.StatusOK, out)
}
