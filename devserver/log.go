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
// benign warnings at debug. Fatal and Panic are logged at their level but, unlike the
// server's own logger, neither exit nor panic. Once muted is set (when Stop begins) it
// drops everything: shutdown is noisy, and a few of the server's system workers are never
// stopped and keep retrying against the stopped frontend.
type serverLogger struct {
	zl    zerolog.Logger // the caller's logger, with its own level
	min   zerolog.Level  // Options.LogLevel: the server's own debug and info logs are a firehose
	muted *atomic.Bool
}

// benign lists warnings that say nothing to a tend user: those of every start, and those
// the Web UI causes as it is browsed (it asks for history pages of 1,000 events, above
// the server's warning threshold, every time it shows or refreshes a workflow). They go
// out at debug, so --log-level debug shows them.
var benign = []string{
	"HTTP API port has not been set.",
	"GetHistory page size is larger than threshold",
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
	switch {
	case level == zerolog.WarnLevel && slices.ContainsFunc(benign, func(p string) bool { return strings.HasPrefix(msg, p) }):
		level = zerolog.DebugLevel
	case level < l.min:
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
