package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"go.temporal.io/api/serviceerror"

	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/engine/lang"
)

// MaxRunsLimit is the largest limit GET /v1/runs takes.
const MaxRunsLimit = 1000

// fail answers an error from control: 400 for ErrInvalid, 404 for
// ErrNotFound (or a workflow Temporal does not have), 409 for ErrConflict, 503 when Temporal is
// unavailable or no worker answers, and 500 otherwise.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var nf *serviceerror.NotFound
	switch {
	case errors.Is(err, control.ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, control.ErrNotFound) || errors.As(err, &nf):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, control.ErrConflict):
		writeError(w, http.StatusConflict, err.Error())
	case control.IsUnavailable(err):
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfterUnavailable))
		writeError(w, http.StatusServiceUnavailable, err.Error())
	default:
		s.log.Error().Str("method", r.Method).Str("path", logPath(r)).Str("error", err.Error()).Msg("request failed")
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

// checkQuery answers 400 and returns false if the query has a parameter
// not in allowed, or one given twice.
func checkQuery(w http.ResponseWriter, q url.Values, allowed ...string) bool {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown query parameter %q; this endpoint takes %s", k, strings.Join(allowed, ", ")))
			return false
		}
		if len(q[k]) > 1 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("query parameter %q is given %d times; give it once", k, len(q[k])))
			return false
		}
	}
	return true
}

func noQuery(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.RawQuery != "" {
		writeError(w, http.StatusBadRequest, "this endpoint takes no query parameters")
		return false
	}
	return true
}

func requestContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), requestTimeout)
}

// reachable answers 503 and returns false when Temporal does not answer a
// (cached) health check, so that an outage fails fast instead of after the
// SDK's retries.
func (s *Server) reachable(w http.ResponseWriter) bool {
	if err := s.healthy(); err != nil {
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfterUnavailable))
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return false
	}
	return true
}

// getCustomer is GET /v1/customers/{id}, and hands over
// GET /v1/customers/{id}/explain.
func (s *Server) getCustomer(w http.ResponseWriter, r *http.Request, _ []byte) {
	if id, ok := explainID(r); ok {
		s.explainCustomer(w, r, id)
		return
	}
	if !noQuery(w, r) {
		return
	}
	id := r.PathValue("id")
	if err := lang.CheckCustomerID(id); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !s.reachable(w) {
		return
	}
	ctx, cancel := requestContext(r)
	defer cancel()
	c, err := control.GetCustomer(ctx, s.opts.Client, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// listRuns is GET /v1/runs.
func (s *Server) listRuns(w http.ResponseWriter, r *http.Request, _ []byte) {
	q := r.URL.Query()
	if !checkQuery(w, q, "customer", "playbook", "status", "step", "owner", "limit") {
		return
	}
	f := control.RunFilter{Customer: q.Get("customer"), Playbook: q.Get("playbook"), Status: q.Get("status"),
		Step: q.Get("step"), Owner: q.Get("owner"), OwnerHashed: s.opts.Codec != nil}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxRunsLimit {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit %q: want a whole number from 1 to %d (default %d)", l, MaxRunsLimit, control.DefaultLimit))
			return
		}
		f.Limit = n
	}
	if err := f.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !s.reachable(w) {
		return
	}
	ctx, cancel := requestContext(r)
	defer cancel()
	runs, err := control.ListRuns(ctx, s.opts.Client, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if runs == nil {
		runs = []control.RunSummary{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": runs})
}

// getRun is GET /v1/runs/{id}.
func (s *Server) getRun(w http.ResponseWriter, r *http.Request, _ []byte) {
	if !noQuery(w, r) {
		return
	}
	id := r.PathValue("id")
	if err := control.CheckRunID(id); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !s.reachable(w) {
		return
	}
	ctx, cancel := requestContext(r)
	defer cancel()
	v, err := control.ShowRun(ctx, s.opts.Client, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// listTasks is GET /v1/tasks.
func (s *Server) listTasks(w http.ResponseWriter, r *http.Request, _ []byte) {
	q := r.URL.Query()
	if !checkQuery(w, q, "owner", "overdue") {
		return
	}
	f := control.TaskFilter{Owner: q.Get("owner"), Now: s.now()}
	switch o := q.Get("overdue"); o {
	case "", "false":
	case "true":
		f.Overdue = true
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("overdue %q: want true or false", o))
		return
	}
	if !s.reachable(w) {
		return
	}
	ctx, cancel := requestContext(r)
	defer cancel()
	tasks, err := control.ListTasks(ctx, s.opts.Client, f)
	var unread *control.UnreadError
	if err != nil && !errors.As(err, &unread) {
		s.fail(w, r, err)
		return
	}
	if tasks == nil {
		tasks = []control.TaskItem{}
	}
	body := map[string]any{"tasks": tasks}
	if unread != nil {
		// The list is partial: say which runs are missing from it, and why.
		missing := make([]string, len(unread.Errs))
		for i, e := range unread.Errs {
			missing[i] = e.Error()
		}
		body["unread"] = missing
	}
	writeJSON(w, http.StatusOK, body)
}

// completeBody is the optional body of POST /v1/tasks/{id}/complete.
type completeBody struct {
	Outcome string `json:"outcome"`
}

// completeTask is POST /v1/tasks/{id}/complete. The route is
// /v1/tasks/{id...}, so that an id sent with its slashes unencoded works
// too; a task id never ends in /complete (its last part is a count).
func (s *Server) completeTask(w http.ResponseWriter, r *http.Request, body []byte) {
	id, ok := strings.CutSuffix(r.PathValue("id"), "/complete")
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no endpoint POST %s; complete a task with POST /v1/tasks/{id}/complete", r.URL.EscapedPath()))
		return
	}
	if !noQuery(w, r) {
		return
	}
	var in completeBody
	if !oneKeyBody(w, body, "outcome", `{"outcome": "..."}`, &in) {
		return
	}
	if _, _, err := control.ParseTaskID(id); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := control.CheckOutcome(in.Outcome); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !s.reachable(w) {
		return
	}
	ctx, cancel := requestContext(r)
	defer cancel()
	res, err := control.CompleteTask(ctx, s.opts.Client, id, in.Outcome, s.now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// PlaybookInfo is one playbook as GET /v1/playbooks lists it.
type PlaybookInfo struct {
	Name        string      `json:"name"`
	Version     string      `json:"version"`
	Description string      `json:"description,omitempty"`
	File        string      `json:"file,omitempty"`
	Stage       string      `json:"stage,omitempty"`
	Owner       string      `json:"owner,omitempty"`
	Triggers    TriggerInfo `json:"triggers"`
	ExitWhen    string      `json:"exit_when,omitempty"`
	Expires     string      `json:"expires,omitempty"`
	Steps       []string    `json:"steps"`
	Templates   []string    `json:"templates,omitempty"`
}

// TriggerInfo is a playbook's trigger: the event types it starts on (or
// daily), and the source text of its conditions.
type TriggerInfo struct {
	On      []string `json:"on"`
	Daily   bool     `json:"daily,omitempty"`
	When    string   `json:"when,omitempty"`
	OncePer string   `json:"once_per,omitempty"`
}

// Playbooks lists the playbooks of a set, as GET /v1/playbooks does.
func Playbooks(set *lang.Set) []PlaybookInfo {
	out := make([]PlaybookInfo, 0, len(set.Playbooks))
	for _, pb := range set.Playbooks {
		p := PlaybookInfo{
			Name: pb.Name, Version: pb.Version, Description: pb.Description, Stage: pb.Stage,
			Owner: src(pb.Owner), ExitWhen: src(pb.ExitWhen),
			Triggers: TriggerInfo{On: pb.Trigger.On, Daily: pb.Trigger.Daily, When: src(pb.Trigger.When), OncePer: src(pb.Trigger.OncePer)},
			Steps:    []string{}, Templates: pb.Templates,
		}
		if pb.File != "" {
			p.File = pathBase(pb.File)
		}
		if p.Triggers.On == nil {
			p.Triggers.On = []string{}
		}
		if !pb.Expires.IsZero() {
			p.Expires = pb.Expires.String()
		}
		if len(pb.Blocks) > 0 {
			for _, st := range pb.Blocks[0] {
				if st != nil && st.ID != "" {
					p.Steps = append(p.Steps, st.ID)
				}
			}
		}
		out = append(out, p)
	}
	return out
}

func src(e *lang.Expr) string {
	if e == nil {
		return ""
	}
	return e.Src
}

func pathBase(p string) string {
	p = strings.ReplaceAll(p, "\\", "/")
	if i := strings.LastIndex(p, "/"); i >= 0 {
		return p[i+1:]
	}
	return p
}

// listPlaybooks is GET /v1/playbooks.
func (s *Server) listPlaybooks(w http.ResponseWriter, r *http.Request, _ []byte) {
	if !noQuery(w, r) {
		return
	}
	set := s.opts.Set()
	if set == nil {
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfterUnavailable))
		writeError(w, http.StatusServiceUnavailable, "no playbook set is loaded yet")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"version": set.Version, "playbooks": Playbooks(set)})
}

// oneKeyBody decodes an optional request body of one JSON object with at
// most the one key, strictly: encoding/json folds case and lets a repeated
// key win, so {"Outcome": ...} or the key twice are refused here, as are
// unknown keys and a second value. It writes the 400 naming want, the body
// expected, and reports whether to go on; an empty body leaves v as it is.
func oneKeyBody(w http.ResponseWriter, body []byte, key, want string, v any) bool {
	if len(bytes.TrimSpace(body)) == 0 {
		return true
	}
	bad := func(msg string) bool {
		writeError(w, http.StatusBadRequest, "body: "+msg+"; want "+want+" or no body")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bad(strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); err != io.EOF {
		return bad("more than one JSON value")
	}
	var keys map[string]json.RawMessage
	if json.Unmarshal(body, &keys) == nil {
		for k := range keys {
			if k != key {
				return bad(fmt.Sprintf("unknown field %q", k))
			}
		}
	}
	if bytes.Count(body, []byte(`"`+key+`"`)) > 1 {
		return bad(key + " appears twice")
	}
	return true
}
