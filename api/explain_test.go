package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/engine"
)

// TestExplain reads why the shipped playbooks did or did not start for a
// customer whose health fell from 80 to 72: not a crossing below 50, so
// health-drop-escalation's when is false, shown with the values it read.
func TestExplain(t *testing.T) {
	start(t)
	cust := customer("explain")
	ids := accepted(t, mustJSON(t, []ev{
		{"type": "customer.updated", "customer": cust, "attributes": ev{"name": "Explain Co", "segment": "smb", "seats": 5, "stage": "adoption",
			"csm": "jo@vendor.example", "manager": "max@vendor.example", "contact_email": "it@explain.example", "health": 80}},
		{"type": "customer.updated", "customer": cust, "attributes": ev{"health": 72}},
	}))
	path := customerPath(cust) + "/explain"

	var ex control.Explanation
	waitFor(t, "the explanation of the second event", 60*time.Second, func() (bool, string) {
		res := get(t, path+"?playbook=health-drop-escalation")
		if res.status != http.StatusOK {
			return false, res.String()
		}
		ex = control.Explanation{}
		res.json(t, &ex)
		return ex.LastEvent != nil && ex.LastEvent.ID == ids[1], res.String()
	})
	if ex.Customer != cust || ex.Version == "" || len(ex.Playbooks) != 1 {
		t.Fatalf("explanation %+v: want customer %s, a version and one playbook", ex, cust)
	}
	e := ex.Playbooks[0].Event
	if e == nil || e.Outcome != engine.OutcomeWhenFalse || e.Event != ids[1] || !strings.HasPrefix(e.Summary, "when was false: ") {
		t.Fatalf("health-drop-escalation at the last event: %+v, want when-false", e)
	}
	var vals []string
	for _, v := range e.Values {
		vals = append(vals, v.String())
	}
	for _, want := range []string{"before.health = 80", "customer.health = 72"} {
		if !slices.Contains(vals, want) {
			t.Errorf("values %q lack %q", vals, want)
		}
	}

	res := get(t, path)
	if res.status != http.StatusOK {
		t.Fatalf("GET %s: %s", path, res)
	}
	var all control.Explanation
	res.json(t, &all)
	if n := len(mustSet(t).Playbooks); len(all.Playbooks) != n {
		t.Errorf("%d playbooks explained, want all %d", len(all.Playbooks), n)
	}
	for _, p := range all.Playbooks {
		if p.Event == nil || p.Event.Summary == "" {
			t.Errorf("%s: no explanation of the last event: %+v", p.Playbook, p)
		}
	}

	tests := []struct {
		name   string
		path   string
		status int
		want   string
	}{
		{"unknown playbook", path + "?playbook=health-drop", http.StatusBadRequest,
			"unknown playbook health-drop; did you mean health-drop-escalation?; the playbooks are "},
		{"unknown parameter", path + "?customer=x", http.StatusBadRequest, `unknown query parameter "customer"; this endpoint takes playbook`},
		{"unknown customer", customerPath(customer("never-seen")) + "/explain", http.StatusNotFound, "tend has received no event for it"},
		{"a customer whose id ends in /explain", customerPath(cust + "/explain"), http.StatusNotFound, "no customer " + cust + "/explain:"},
		{"a customer id with a control character", "/v1/customers/a%07b/explain", http.StatusBadRequest, "control"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := get(t, tt.path)
			if res.status != tt.status || !contains(res.errorText(t), tt.want) {
				t.Errorf("GET %s: %s, want %d with %q", tt.path, res, tt.status, tt.want)
			}
		})
	}
	if res := request(t, env.url, http.MethodGet, path, nil, nil); res.status != http.StatusUnauthorized {
		t.Errorf("without a credential: %s, want 401", res)
	}
}
