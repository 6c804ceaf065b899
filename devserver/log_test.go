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
		routine  = "GetHistory page size is larger than threshold"
		plumbing = "TrailerToContextMetadataInterceptor: Trailer had metadata but context not wrapped"
		real     = "Persistence write failed"
		chatter  = "Membership ring changed"
		failure  = "Unable to start service"
	)
	for _, c := range []struct {
		level      zerolog.Level // the user's --log-level
		want, hide []string
	}{
		{zerolog.InfoLevel, []string{real, failure}, []string{routine, plumbing, chatter}},
		{zerolog.WarnLevel, []string{real, failure}, []string{routine, plumbing, chatter}},
		{zerolog.DebugLevel, []string{`"level":"debug","wf-size":1000,"message":"` + routine, `"level":"debug","message":"` + plumbing, real, failure}, []string{chatter}},
		{zerolog.ErrorLevel, []string{failure}, []string{routine, plumbing, real, chatter}},
	} {
		var buf bytes.Buffer
		var muted atomic.Bool
		l := serverLogger{zl: zerolog.New(&buf).Level(c.level), min: zerolog.WarnLevel, muted: &muted}
		l.With(tag.NewInt("wf-size", 1000)).Warn(routine)
		l.Warn(plumbing)
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

// TestLevelOf: the server's routine warnings, of which a tend user can do
// nothing, go out at debug; real warnings, and every error, keep their level.
func TestLevelOf(t *testing.T) {
	for _, c := range []struct {
		level zerolog.Level
		msg   string
		want  zerolog.Level
	}{
		// Routine: at every start, browsing the Web UI, the server's own plumbing.
		{zerolog.WarnLevel, "HTTP API port has not been set. Nexus HTTP endpoints will not be available. Set httpPort in the frontend config.", zerolog.DebugLevel},
		{zerolog.WarnLevel, "GetHistory page size is larger than threshold", zerolog.DebugLevel},
		{zerolog.WarnLevel, "List query exceeded threshold", zerolog.DebugLevel},
		{zerolog.WarnLevel, "Count query exceeded threshold", zerolog.DebugLevel},
		{zerolog.WarnLevel, "TrailerToContextMetadataInterceptor: Trailer had metadata but context not wrapped", zerolog.DebugLevel},
		{zerolog.WarnLevel, "TrailerToContextMetadataInterceptor: Failed to propagate some metadata from trailer", zerolog.DebugLevel},
		{zerolog.WarnLevel, "TrailerToContextMetadataInterceptor: Failed to unmarshal proto trailer, falling back to legacy", zerolog.DebugLevel},
		{zerolog.WarnLevel, "ContextMetadataInterceptor: Failed to marshal proto metadata, falling back to legacy-only", zerolog.DebugLevel},
		// Real warnings stay.
		{zerolog.WarnLevel, "Fail to process task", zerolog.WarnLevel},
		{zerolog.WarnLevel, "Slow gRPC call", zerolog.WarnLevel},
		{zerolog.WarnLevel, "history size exceeds warn limit.", zerolog.WarnLevel},
		{zerolog.WarnLevel, "Persistence write failed", zerolog.WarnLevel},
		// A routine text must start the message.
		{zerolog.WarnLevel, "unexpected: GetHistory page size is larger than threshold", zerolog.WarnLevel},
		// Errors are never demoted, whatever they say; other levels keep theirs.
		{zerolog.ErrorLevel, "ContextMetadataInterceptor: Failed to set trailer", zerolog.ErrorLevel},
		{zerolog.ErrorLevel, "List query exceeded threshold", zerolog.ErrorLevel},
		{zerolog.FatalLevel, "HTTP API port has not been set.", zerolog.FatalLevel},
		{zerolog.InfoLevel, "TrailerToContextMetadataInterceptor: No metadata in trailer", zerolog.InfoLevel},
	} {
		if got := levelOf(c.level, c.msg); got != c.want {
			t.Errorf("%s %q: %s, want %s", c.level, c.msg, got, c.want)
		}
	}
}
