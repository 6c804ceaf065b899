package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSchema(t *testing.T) {
	r := mustRun(t, exitOK, "schema")
	if r.stderr != "" {
		t.Errorf("stderr = %q", r.stderr)
	}
	var s struct {
		Schema     string                     `json:"$schema"`
		Type       string                     `json:"type"`
		Required   []string                   `json:"required"`
		Properties map[string]json.RawMessage `json:"properties"`
		Defs       map[string]json.RawMessage `json:"$defs"`
		AddProps   *bool                      `json:"additionalProperties"`
	}
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	if dec.More() {
		t.Errorf("more than one JSON value on stdout")
	}
	if !strings.HasPrefix(s.Schema, "https://json-schema.org/") {
		t.Errorf("$schema = %q", s.Schema)
	}
	if s.Type != "object" || s.AddProps == nil || *s.AddProps {
		t.Errorf("type = %q, additionalProperties = %v; want a closed object (unknown keys are errors)", s.Type, s.AddProps)
	}
	// Every top-level key of a playbook (docs/language.md, Playbooks), and no others.
	want := []string{"playbook", "description", "stage", "owner", "reply_to", "trigger", "exit_when", "expires", "unsubscribe", "steps"}
	for _, k := range want {
		if _, ok := s.Properties[k]; !ok {
			t.Errorf("no property %s", k)
		}
	}
	if len(s.Properties) != len(want) {
		t.Errorf("%d properties, want %d", len(s.Properties), len(want))
	}
	if strings.Join(s.Required, ",") != "playbook,trigger,steps" {
		t.Errorf("required = %v", s.Required)
	}

	var trigger struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(s.Properties["trigger"], &trigger); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"on", "when", "once_per"} {
		if _, ok := trigger.Properties[k]; !ok {
			t.Errorf("trigger has no property %s: %s", k, s.Properties["trigger"])
		}
	}

	var steps struct {
		Type  string `json:"type"`
		Items struct {
			Ref string `json:"$ref"`
		} `json:"items"`
	}
	if err := json.Unmarshal(s.Properties["steps"], &steps); err != nil {
		t.Fatal(err)
	}
	if steps.Type != "array" || steps.Items.Ref != "#/$defs/step" {
		t.Errorf("steps = %s", s.Properties["steps"])
	}
	var step struct {
		OneOf []struct {
			Required   []string                   `json:"required"`
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"oneOf"`
	}
	if err := json.Unmarshal(s.Defs["step"], &step); err != nil {
		t.Fatalf("$defs.step: %v", err)
	}
	// One variant per action and one per other step kind (docs/language.md, Steps).
	kinds := map[string]bool{}
	for _, v := range step.OneOf {
		if len(v.Required) != 1 {
			t.Errorf("a step variant requires %v", v.Required)
			continue
		}
		k := v.Required[0]
		if k == "do" {
			var do struct {
				Const string `json:"const"`
			}
			_ = json.Unmarshal(v.Properties["do"], &do)
			k = "do: " + do.Const
			// Bulk mail is marked with unsubscribe: true, and only mail.
			_, unsub := v.Properties["unsubscribe"]
			if want := do.Const == "email" || do.Const == "survey"; unsub != want {
				t.Errorf("step variant %s: unsubscribe key %v, want %v", k, unsub, want)
			}
		}
		kinds[k] = true
		for _, common := range []string{"id", "when"} {
			if _, ok := v.Properties[common]; !ok {
				t.Errorf("step variant %s has no %s", k, common)
			}
		}
	}
	for _, k := range []string{"do: email", "do: survey", "do: call", "do: training", "do: task", "do: notify", "do: escalate",
		"do: webhook", "do: update", "wait", "wait_for", "if", "repeat", "stop"} {
		if !kinds[k] {
			t.Errorf("no step variant for %s (have %v)", k, kinds)
		}
	}
}
