package lang

import (
	"slices"
	"strings"

	"github.com/tend-cs/tend/engine/tendfmt"
)

// Targets are the names the runtime configuration (tend.yaml) gives the
// places playbooks send to: chat channels for notify and escalate, and
// webhook endpoints. With none configured, that kind of outreach goes to
// the outbox, and any name will do.
type Targets struct {
	File           string   // the configuration file, for messages; "" for the defaults
	Channels       []string // chat channels
	DefaultChannel string   // the channel of a notify or escalate that names none; "" when there is none
	Endpoints      []string // webhook endpoints
}

// CheckTargets reports every step of the set that names a chat channel or
// an endpoint t does not configure, and every notify or escalate that
// names no channel where there is no default one, at the step's position:
// the runs would otherwise fail when they get there (a notify) or leave
// out the chat message (an escalate).
func (s *Set) CheckTargets(t Targets) tendfmt.ErrorList {
	var errs tendfmt.ErrorList
	cfg := t.File
	if cfg == "" {
		cfg = "the configuration"
	}
	channels := slices.Sorted(slices.Values(t.Channels))
	endpoints := slices.Sorted(slices.Values(t.Endpoints))
	for _, pb := range s.Playbooks {
		for _, block := range pb.Blocks {
			for _, st := range block {
				where := "playbook " + pb.Name + ": step " + st.ID
				switch {
				case st.Kind != KindDo || len(channels) == 0:
				case st.Channel != "" && !slices.Contains(channels, st.Channel):
					errs.Add(st.ChannelPos, "%s: chat channel %s is not configured in %s (its channels are %s)%s", where, st.Channel, cfg, strings.Join(channels, ", "), suggestion(st.Channel, channels))
				case st.Channel == "" && st.Do == ActionNotify && t.DefaultChannel == "":
					errs.Add(st.Pos, "%s: do: notify names no channel, and %s sets no chat.default; name one of %s", where, cfg, listOf(channels))
				case st.Channel == "" && st.Do == ActionEscalate && t.DefaultChannel == "":
					errs.Add(st.Pos, "%s: escalate needs channel: or chat.default when %s has several chat channels; name one of %s", where, cfg, listOf(channels))
				}
				if st.Kind == KindDo && st.Endpoint != "" && len(endpoints) > 0 && !slices.Contains(endpoints, st.Endpoint) {
					errs.Add(st.EndpointPos, "%s: endpoint %s is not configured in %s (its endpoints are %s)%s", where, st.Endpoint, cfg, strings.Join(endpoints, ", "), suggestion(st.Endpoint, endpoints))
				}
			}
		}
	}
	errs.Sort()
	return errs
}

// suggestion is "; did you mean x?" for the closest name, or "".
func suggestion(name string, names []string) string {
	if m := tendfmt.Suggest(name, names); m != "" {
		return "; did you mean " + m + "?"
	}
	return ""
}

// listOf joins names for a message: "a", "a or b", "a, b or c".
func listOf(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	out := names[0]
	for _, n := range names[1 : len(names)-1] {
		out += ", " + n
	}
	return out + " or " + names[len(names)-1]
}
