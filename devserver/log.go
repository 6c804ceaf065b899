package devserver

import (
	"slices"
	"strings"
	"sync/atomic"

	"github.com/rs/zerolog"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// serverLogger passes the server's logs to zerolog: those at min or above, and the
// routine warnings at debug. Fatal and Panic are logged at their level but, unlike the
// server's own logger, neither exit nor panic. Once muted is set (when Stop begins) it
// drops everything: shutdown is noisy, and a few of the server's system workers are never
// stopped and keep retrying against the stopped frontend.
type serverLogger struct {
	zl    zerolog.Logger // the caller's logger, with its own level
	min   zerolog.Level  // Options.LogLevel: the server's own debug and info logs are a firehose
	muted *atomic.Bool
}

// routine lists, by prefix, the server's warnings that a tend user can do nothing about.
// They go out at debug, so --log-level debug shows them:
//   - of every start: no HTTP API port (tend has its own API);
//   - of browsing the Web UI: it asks for history pages of 1,000 events, above the
//     server's warning threshold, every time it shows or refreshes a workflow; and its list
//     and count queries can take longer than the server's 1 s slow-query threshold on
//     SQLite;
//   - of the server's own plumbing: its services pass request metadata to each other in
//     gRPC trailers, and say so (throttled) when a call had no context to take it.
//
// Errors are never demoted, nor warnings that may mean something is wrong (failed
// tasks, slow gRPC calls, histories over their size limits).
var routine = []string{
	"HTTP API port has not been set.",
	"GetHistory page size is larger than threshold",
	"List query exceeded threshold",
	"Count query exceeded threshold",
	"TrailerToContextMetadataInterceptor: ",
	"ContextMetadataInterceptor: ",
}

// levelOf is the level a server log at level goes out at: a routine warning at debug.
func levelOf(level zerolog.Level, msg string) zerolog.Level {
	if level == zerolog.WarnLevel && slices.ContainsFunc(routine, func(p string) bool { return strings.HasPrefix(msg, p) }) {
		return zerolog.DebugLevel
	}
	return level
}

var (
	_ log.Logger     = serverLogger{}
	_ log.WithLogger = serverLogger{}
)

func (l serverLogger) Debug(msg string, tags ...tag.Tag)  { l.log(zerolog.DebugLevel, msg, tags) }
func (l serverLogger) Info(msg string, tags ...tag.Tag)   { l.log(zerolog.InfoLevel, msg, tags) }
func (l serverLogger) Warn(msg string, tags ...tag.Tag)   { l.log(zerolog.WarnLevel, msg, tags) }
func (l serverLogger) Error(msg string, tags ...tag.Tag)  { l.log(zerolog.ErrorLevel, msg, tags) }
func (l serverLogger) DPanic(msg string, tags ...tag.Tag) { l.log(zerolog.ErrorLevel, msg, tags) }
func (l serverLogger) Panic(msg string, tags ...tag.Tag)  { l.log(zerolog.PanicLevel, msg, tags) }
func (l serverLogger) Fatal(msg string, tags ...tag.Tag)  { l.log(zerolog.FatalLevel, msg, tags) }

func (l serverLogger) With(tags ...tag.Tag) log.Logger {
	return serverLogger{l.zl.With().Fields(fields(tags)).Logger(), l.min, l.muted}
}

func (l serverLogger) log(level zerolog.Level, msg string, tags []tag.Tag) {
	if l.muted.Load() {
		return
	}
	// A routine warning goes to the caller's logger at debug, whatever min is.
	if d := levelOf(level, msg); d != level {
		level = d
	} else if level < l.min {
		return
	}
	// WithLevel never exits or panics, even at FatalLevel and PanicLevel.
	if ev := l.zl.WithLevel(level); ev != nil {
		ev.Fields(fields(tags)).Msg(msg)
	}
}

func fields(tags []tag.Tag) []any {
	kv := make([]any, 0, 2*len(tags))
	for _, t := range tags {
		kv = append(kv, t.Key(), t.Value())
	}
	return kv
}

// sdkLogger passes the logs of the SDK client used at start to zerolog.
type sdkLogger struct{ zl zerolog.Logger }

var _ sdklog.Logger = sdkLogger{}

func (l sdkLogger) Debug(msg string, kv ...any) { l.zl.Debug().Fields(kv).Msg(msg) }
func (l sdkLogger) Info(msg string, kv ...any)  { l.zl.Info().Fields(kv).Msg(msg) }
func (l sdkLogger) Warn(msg string, kv ...any)  { l.zl.Warn().Fields(kv).Msg(msg) }
func (l sdkLogger) Error(msg string, kv ...any) { l.zl.Error().Fields(kv).Msg(msg) }
