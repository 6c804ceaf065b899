package activities

import (
	"context"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"
	"unicode"

	ics "github.com/arran4/golang-ical"
	"github.com/tend-cs/tend/engine"
	gomail "github.com/wneessen/go-mail"
)

// defaultMeeting is the length of a call or training that names none.
const defaultMeeting = 30 * time.Minute

// sendInvite sends a call or training invite by email, or writes the .ics
// to the outbox.
func (a *Activities) sendInvite(ctx context.Context, act engine.Action) (Result, error) {
	if act.Start == nil {
		return Result{}, permanent(ErrTypeInvalidAction, "%s %q has no start time", act.Kind, act.Title)
	}
	owner, err := addresses("owner", []string{act.Owner})
	if err != nil {
		return Result{}, err
	}
	attendees, err := addresses("attendees", act.Attendees)
	if err != nil {
		return Result{}, err
	}
	organizer := a.from
	if len(owner) > 0 {
		organizer = owner[0]
	}
	uid := a.mailKey(act.Key) + "@" + a.domain()
	cal := a.calendar(act, uid, organizer, attendees)
	if a.email == nil {
		res, err := a.writeOutbox(act.Key, ".ics", func(w io.Writer) error {
			return cal.SerializeTo(w, ics.WithNewLineWindows)
		})
		res.UID = uid
		return res, err
	}

	// The organizer gets the invite too, so the meeting is on their calendar.
	to := uniqueAddrs(append(owner, attendees...))
	if len(to) == 0 {
		return Result{}, permanent(ErrTypeInvalidAddress, "%s %q has no recipient: owner and attendees are empty", act.Kind, act.Title)
	}
	loc := location(act)
	m := a.newMsg(act, to, nil, fmt.Sprintf("Invitation: %s @ %s", act.Title, formatTime(*act.Start, loc)))
	text := cal.Serialize(ics.WithNewLineWindows)
	m.SetBodyString(gomail.TypeTextPlain, inviteBody(act, loc))
	// Calendar clients act on the text/calendar alternative (it carries
	// the method); the attachment is for the ones that do not, and for
	// people who save it.
	// go-mail adds the charset of a part itself; an attachment's must be
	// given, or names with accents decode wrongly.
	m.AddAlternativeString(gomail.ContentType("text/calendar; method=REQUEST"), text)
	if err := m.AttachReader("invite.ics", strings.NewReader(text),
		gomail.WithFileContentType(gomail.ContentType("text/calendar; charset=UTF-8; method=REQUEST"))); err != nil {
		return Result{}, fmt.Errorf("attach invite: %w", err)
	}
	res, err := a.deliver(ctx, act, m)
	res.UID = uid
	return res, err
}

// calendar builds the invite. DTSTAMP is the send time; everything else
// comes from the action, so a resend describes the same event.
func (a *Activities) calendar(act engine.Action, uid string, organizer *mail.Address, attendees []*mail.Address) *ics.Calendar {
	cal := ics.NewCalendarFor("tend")
	cal.SetMethod(ics.MethodRequest)
	ev := cal.AddEvent(uid)
	ev.SetDtStampTime(a.now())
	ev.SetSequence(0)
	ev.SetStartAt(*act.Start)
	d := act.Duration
	if d <= 0 {
		d = defaultMeeting
	}
	ev.SetEndAt(act.Start.Add(d))
	ev.SetSummary(act.Title)
	if desc := inviteDescription(act); desc != "" {
		ev.SetDescription(desc)
	}
	ev.SetStatus(ics.ObjectStatusConfirmed)
	var orgParams []ics.PropertyParameter
	if cn := commonName(organizer.Name); cn != "" {
		orgParams = append(orgParams, ics.WithCN(cn))
	}
	ev.SetOrganizer(organizer.Address, orgParams...)
	for _, at := range attendees {
		params := []ics.PropertyParameter{ics.ParticipationRoleReqParticipant, ics.ParticipationStatusNeedsAction, ics.WithRSVP(true)}
		if cn := commonName(at.Name); cn != "" {
			params = append(params, ics.WithCN(cn))
		}
		ev.AddAttendee(at.Address, params...)
	}
	return cal
}

// commonName drops from a display name the characters that golang-ical
// escapes with a backslash in parameters, which RFC 5545 does not allow
// there ("Smith, Jo" would show as "Smith\, Jo").
func commonName(name string) string {
	return strings.Join(strings.FieldsFunc(name, func(r rune) bool {
		return strings.ContainsRune(`,;:\"'`, r) || unicode.IsSpace(r) || r < 0x20
	}), " ")
}

func inviteDescription(act engine.Action) string {
	var parts []string
	if act.Topic != "" {
		parts = append(parts, "Topic: "+act.Topic)
	}
	if act.Description != "" {
		parts = append(parts, act.Description)
	}
	return strings.Join(parts, "\n\n")
}

func inviteBody(act engine.Action, loc *time.Location) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\nWhen: %s", act.Title, formatTime(*act.Start, loc))
	d := act.Duration
	if d <= 0 {
		d = defaultMeeting
	}
	fmt.Fprintf(&b, " (%s)\n", meetingLength(d))
	if desc := inviteDescription(act); desc != "" {
		fmt.Fprintf(&b, "\n%s\n", desc)
	}
	return b.String()
}

// meetingLength says how long a meeting is, as people write it: 30 min,
// 2 h, 1 h 30 min.
func meetingLength(d time.Duration) string {
	d = d.Round(time.Minute)
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h == 0:
		return fmt.Sprintf("%d min", m)
	case m == 0:
		return fmt.Sprintf("%d h", h)
	}
	return fmt.Sprintf("%d h %d min", h, m)
}

func uniqueAddrs(in []*mail.Address) []*mail.Address {
	seen := map[string]bool{}
	var out []*mail.Address
	for _, a := range in {
		k := strings.ToLower(a.Address)
		if !seen[k] {
			seen[k] = true
			out = append(out, a)
		}
	}
	return out
}
