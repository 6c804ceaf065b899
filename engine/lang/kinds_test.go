package lang

import (
	"slices"
	"testing"
)

// TestKindsTable checks that the registry of kinds is coherent: unique
// names, one step kind per StepKind in order, and that every key the
// parser needs or the JSON Schema requires is one the kind allows.
func TestKindsTable(t *testing.T) {
	seen := map[string]bool{}
	for i, k := range Steps {
		if k.Kind != StepKind(i+1) {
			t.Errorf("Steps[%d] is %s with kind %d; want kind %d", i, k.Name, k.Kind, i+1)
		}
		if seen[k.Name] {
			t.Errorf("step kind %s is listed twice", k.Name)
		}
		seen[k.Name] = true
		if LookupStep(k.Name) != &Steps[i] {
			t.Errorf("LookupStep(%s) is not Steps[%d]", k.Name, i)
		}
		for _, r := range k.Required {
			if !slices.Contains(k.Body, r) {
				t.Errorf("step kind %s requires %s, which is not in its body", k.Name, r)
			}
		}
	}
	for i, a := range Actions {
		if seen[a.Name] {
			t.Errorf("action %s is listed twice, or is also a step kind", a.Name)
		}
		seen[a.Name] = true
		if LookupAction(a.Name) != &Actions[i] {
			t.Errorf("LookupAction(%s) is not Actions[%d]", a.Name, i)
		}
		for _, need := range a.Needs {
			for _, k := range need {
				if !slices.Contains(a.Keys, k) {
					t.Errorf("action %s needs %s, which is not one of its keys", a.Name, k)
				}
			}
		}
		if a.Meeting && !a.Task {
			t.Errorf("action %s is a meeting but not a task", a.Name)
		}
		if a.Task && a.CustomerFacing {
			t.Errorf("action %s is both a task and customer-facing", a.Name)
		}
		if name, ok := ActivityName(a.Name); ok != (a.Activity != "") || name != a.Activity {
			t.Errorf("ActivityName(%s) = %q, %v; want %q", a.Name, name, ok, a.Activity)
		}
	}
	if LookupStep("then") != nil || LookupAction("wait") != nil || IsTask("nope") || IsCustomerFacing("") {
		t.Error("lookups of names that are not kinds found something")
	}
	if _, ok := ActivityName(ActionUpdate); ok {
		t.Error("update is applied by the journey, not by an activity")
	}
}
