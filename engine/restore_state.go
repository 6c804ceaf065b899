package engine

import (
	"github.com/tend-cs/tend/engine/lang"
)

// The runtime's states and messages restored after a JSON round trip: the
// values in them get their declared types again (Schema.RestoreAttrs).

// RestoreRunState gives a run state's values their declared types after a
// JSON round trip (continue-as-new, or a run's start input).
func RestoreRunState(s *lang.Schema, st *RunState) {
	st.Attrs = s.RestoreAttrs(st.Attrs)
	st.Before = s.RestoreAttrs(st.Before)
	s.RestoreEvent(st.Trigger)
	if st.Occ == nil {
		st.Occ = map[string]int{}
	}
	for i := range st.Threads {
		if a := st.Threads[i].Wait.Action; a != nil && a.Set != nil {
			a.Set = s.RestoreAttrs(a.Set)
		}
	}
}

// RestoreJourneyState gives a journey state's values their declared types
// after a JSON round trip.
func RestoreJourneyState(s *lang.Schema, st *JourneyState) {
	st.Attrs = s.RestoreAttrs(st.Attrs)
	for i := range st.Answers {
		a := &st.Answers[i]
		ev := lang.Event{Type: a.Type, Data: a.Data}
		s.RestoreEvent(&ev)
		a.Data = ev.Data
	}
}

// RestoreToRun gives a journey's message its declared types after a JSON
// round trip.
func RestoreToRun(s *lang.Schema, m *ToRun) {
	for i := range m.Events {
		d := &m.Events[i]
		s.RestoreEvent(d.Event)
		d.Attrs = s.RestoreAttrs(d.Attrs)
		if d.Diff != nil {
			d.Diff.Changed = s.RestoreAttrs(d.Diff.Changed)
		}
	}
}

// RestoreFromRun gives a run's message its declared types after a JSON
// round trip.
func RestoreFromRun(s *lang.Schema, m *FromRun) {
	s.RestoreEvent(m.Event)
	if m.Action != nil && m.Action.Set != nil {
		m.Action.Set = s.RestoreAttrs(m.Action.Set)
	}
}
