package devserver

import (
	"bytes"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"
	"go.temporal.io/server/common/log/tag"
)

// TestServerLoggerLevels: the Web UI's routine warnings reach the log
// only at debug level; real warnings and errors always do; the server's
// own info and debug logs stay below LogLevel.
func TestServerLoggerLevels(t *testing.T) {
	const (
		routine = "GetHistory page size is larger than threshold"
		real    = "Persistence write failed"
		chatter = "Membership ring changed"
		failure = "Unable to start service"
	)
	for _, c := range []struct {
		level      zerolog.Level // the user's --log-level
		want, hide []string
	}{
		{zerolog.InfoLevel, []string{real, failure}, []string{routine, chatter}},
		{zerolog.WarnLevel, []string{real, failure}, []string{routine, chatter}},
		{zerolog.DebugLevel, []string{`"level":"debug","wf-size":1000,"message":"` + routine, real, failure}, []string{chatter}},
		{zerolog.ErrorLevel, []string{failure}, []string{routine, real, chatter}},
	} {
		var buf bytes.Buffer
		var muted atomic.Bool
		l := serverLogger{zl: zerolog.New(&buf).Level(c.level), min: zerolog.WarnLevel, muted: &muted}
		l.With(tag.NewInt("wf-size", 1000)).Warn(routine)
		l.Warn(real)
		l.Info(chatter)
		l.Debug(chatter)
		l.Error(failure)
		got := buf.String()
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("level %s: log lacks %q:\n%s", c.level, w, got)
			}
		}
		for _, h := range c.hide {
			if strings.Contains(got, h) {
				t.Errorf("level %s: log has %q:\n%s", c.level, h, got)
			}
		}
		muted.Store(true)
		buf.Reset()
		l.Error(failure)
		if buf.Len() != 0 {
			t.Errorf("level %s: logged while muted: %s", c.level, buf.String())
		}
	}
}
