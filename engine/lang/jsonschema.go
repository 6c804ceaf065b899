package lang

// JSONSchema returns a JSON Schema (draft 2020-12) of playbook files, built
// from the registry of step and action kinds (Steps, Actions) that the
// loader checks keys against, for editor completion. The loader remains the
// judge: it also type-checks expressions.
func JSONSchema() map[string]any {
	str := func(desc string) map[string]any { return map[string]any{"type": "string", "description": desc} }
	exprS := func(desc string) map[string]any { return str(desc + " (an expr expression)") }
	dur := map[string]any{"type": "string", "description": "a duration: 45m, 4h, 3d, 2w, 1 business day, 5 business days",
		"pattern": `^([0-9]+[mhdw]|[0-9]+ business days?)$`}
	steps := map[string]any{"type": "array", "items": map[string]any{"$ref": "#/$defs/step"}}
	unsub := map[string]any{"type": "boolean", "description": "bulk mail: add a one-click List-Unsubscribe link, and never send it to a customer with email_opt_out"}
	fieldSchemas := map[string]any{
		"to": exprS("recipient address"), "reply_to": exprS("Reply-To address, such as customer.csm"), "cc": map[string]any{"type": "array", "items": exprS("address")},
		"template": str("a template name from templates/"), "subject": str("subject; may use {{ expr }}"),
		"body": map[string]any{"description": "message body, or a webhook's body mapping"},
		"kind": map[string]any{"enum": []string{"nps", "csat"}}, "title": str("title; may use {{ expr }}"),
		"attendees": map[string]any{"type": "array", "items": exprS("attendee address")},
		"duration":  dur, "due": dur, "overdue": steps, "wait": map[string]any{"type": "boolean"},
		"owner": exprS("task owner"), "topic": str("training topic"), "description": str("task description"),
		"channel": str("a chat channel name from tend.yaml"), "text": str("message; may use {{ expr }}"),
		"reason": str("why; may use {{ expr }}"), "endpoint": str("an endpoint name from tend.yaml"),
		"set":         map[string]any{"type": "object", "additionalProperties": exprS("new value")},
		"stage":       str("a lifecycle stage"),
		"unsubscribe": unsub,
	}
	// The value each step kind's key holds; wait_for and repeat hold a
	// mapping of their Body keys, built below.
	kindSchemas := map[string]any{StepWait: dur, StepIf: exprS("condition"), StepStop: str("reason")}
	bodySchemas := map[string]any{
		"until": exprS("condition"), "timeout": dur, "on_timeout": steps,
		"every": dur, "times": map[string]any{"type": "integer", "minimum": 1}, "steps": steps,
	}
	keySchemas := map[string]any{"then": steps, "else": steps}
	step := func(props map[string]any, required string) map[string]any {
		props["id"], props["when"] = str("step id"), exprS("guard")
		return map[string]any{"type": "object", "required": []string{required}, "properties": props, "additionalProperties": false}
	}
	var variants []any
	for _, k := range Steps {
		if k.Kind == KindDo {
			for _, a := range Actions {
				props := map[string]any{k.Name: map[string]any{"const": a.Name}}
				for _, key := range a.Keys {
					props[key] = fieldSchemas[key]
				}
				variants = append(variants, step(props, k.Name))
			}
			continue
		}
		value := kindSchemas[k.Name]
		if k.Body != nil {
			body := map[string]any{}
			for _, key := range k.Body {
				body[key] = bodySchemas[key]
			}
			value = map[string]any{"type": "object", "additionalProperties": false, "required": k.Required, "properties": body}
		}
		props := map[string]any{k.Name: value}
		for _, key := range k.Keys {
			props[key] = keySchemas[key]
		}
		variants = append(variants, step(props, k.Name))
	}
	return map[string]any{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"$id":                  "https://github.com/tend-cs/tend/playbook.schema.json",
		"title":                "tend playbook",
		"type":                 "object",
		"required":             []string{"playbook", "trigger", "steps"},
		"additionalProperties": false,
		"properties": map[string]any{
			"playbook":    map[string]any{"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"},
			"description": str("what the playbook is for"),
			"stage":       str("stage the customer moves to when a run starts"),
			"owner":       exprS("default owner of this run's tasks"),
			"reply_to":    exprS("Reply-To address of the playbook's emails and surveys, such as customer.csm"),
			"trigger": map[string]any{"type": "object", "additionalProperties": false, "required": []string{"on"},
				"properties": map[string]any{
					"on":       map[string]any{"oneOf": []any{str("an event type, or daily"), map[string]any{"type": "array", "items": str("an event type, or daily")}}},
					"when":     exprS("condition"),
					"once_per": exprS("key: at most one run per distinct value"),
				}},
			"exit_when":   exprS("condition that ends the run as exited"),
			"expires":     dur,
			"unsubscribe": unsub,
			"steps":       steps,
		},
		"$defs": map[string]any{"step": map[string]any{"oneOf": variants}},
	}
}
