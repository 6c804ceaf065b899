package publish

import (
	"fmt"
	"io"
	"strings"
)

// WriteText writes the report as tend publish prints it.
func (r *Report) WriteText(w io.Writer, store string) {
	if r.Unchanged {
		fmt.Fprintf(w, "playbook set %s is the active set of store %s already: nothing to publish\n", r.Version, store)
		return
	}
	prev := "none: nothing was published to it before"
	if r.Previous != "" {
		prev = r.Previous
	}
	fmt.Fprintf(w, "playbook set %s, store %s (active set: %s)\n", r.Version, store, prev)
	if r.PreviousError != "" {
		fmt.Fprintf(w, "the active set cannot be compared with: %s\n", r.PreviousError)
	}

	if r.Previous == "" && r.PreviousError == "" {
		// Nothing to compare the files with: the workers may run the
		// playbooks directory's set, which the store never saw. The
		// triggers below compare with the set each journey uses.
		fmt.Fprintf(w, "\nplaybooks: %d, all new to this store (nothing was published to it to compare with)\n", len(r.Added))
	} else {
		fmt.Fprintf(w, "\nplaybooks: %s added, %s changed, %s removed\n", names(r.Added), names(r.Changed), names(r.Removed))
	}

	total := 0
	var parts []string
	for _, t := range replayTypes {
		total += r.Replayed[t]
		parts = append(parts, fmt.Sprintf("%d %s", r.Replayed[t], t))
	}
	fmt.Fprintf(w, "\nreplayed %d open %s with this build and the new set (%s)", total, plural(total, "workflow", "workflows"), strings.Join(parts, ", "))
	if len(r.Failures) == 0 {
		fmt.Fprintln(w, ": all replay")
	} else {
		fmt.Fprintf(w, ": %d %s not\n", len(r.Failures), plural(len(r.Failures), "does", "do"))
		for _, f := range r.Failures {
			fmt.Fprintf(w, "  %s (%s): %s\n", f.Workflow, f.Type, f.Error)
		}
	}

	if len(r.Pinned) == 0 {
		fmt.Fprintln(w, "\nrunning runs on another version of their playbook: none")
	} else {
		at := ""
		if r.PinnedTruncated {
			at = fmt.Sprintf(" (of the first %d open runs)", maxPinnedRuns)
		}
		fmt.Fprintf(w, "\nrunning runs that stay pinned to their version%s:\n", at)
		for _, p := range r.Pinned {
			now := "removed from the new set"
			if p.New != "" {
				now = "the new set has " + p.New
			}
			fmt.Fprintf(w, "  %s %s (%s): %d %s, such as %s\n", p.Playbook, p.Version, now, p.Count, plural(p.Count, "run", "runs"), strings.Join(p.Runs, ", "))
		}
	}

	fmt.Fprintf(w, "\ntriggers that would decide differently now (%d %s compared, at an event of each type the playbooks' triggers name, daily checks included)", r.Customers, plural(r.Customers, "customer", "customers"))
	if len(r.Triggers) == 0 {
		fmt.Fprintln(w, ": none")
	} else {
		fmt.Fprintln(w, ":")
		for _, t := range r.Triggers {
			fmt.Fprintf(w, "  %s, %s, on %s: %s → %s\n", t.Customer, t.Playbook, t.Trigger, t.Before, t.After)
		}
	}
	if r.NotAsked > 0 {
		fmt.Fprintf(w, "  not compared: %d more %s not asked, as no worker answered in time\n", r.NotAsked, plural(r.NotAsked, "journey", "journeys"))
	}
	if len(r.Unanswered) > 0 {
		fmt.Fprintf(w, "  not compared: %d %s did not answer:\n", len(r.Unanswered), plural(len(r.Unanswered), "journey", "journeys"))
		for i, f := range r.Unanswered {
			if i == examples {
				fmt.Fprintf(w, "    and %d more\n", len(r.Unanswered)-examples)
				break
			}
			fmt.Fprintf(w, "    %s: %s\n", f.Workflow, f.Error)
		}
	}

	fmt.Fprintln(w)
	switch {
	case !r.OK():
		fmt.Fprintf(w, "refused: %d open %s would not replay; nothing was published\n", len(r.Failures), plural(len(r.Failures), "workflow", "workflows"))
	case r.DryRun:
		fmt.Fprintf(w, "dry run: publishing %s would succeed; nothing was written\n", r.Version)
	case r.Activated:
		fmt.Fprintf(w, "published: %s is the active set of store %s; workers following the store switch to it at their next check\n", r.Version, store)
	}
}

// names is "2 (a, b)", or "0".
func names(l []string) string {
	if len(l) == 0 {
		return "0"
	}
	return fmt.Sprintf("%d (%s)", len(l), strings.Join(l, ", "))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
