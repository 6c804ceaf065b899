// Package zlog adapts zerolog to the logger interface of the Temporal SDK.
package zlog

import (
	"github.com/rs/zerolog"
	"go.temporal.io/sdk/log"
)

// BadKey is the field name given to a value that has no string key: a
// trailing value of an odd-length keyvals list, or a non-string key.
const BadKey = "!BADKEY"

// SDK returns a Temporal SDK logger that writes through l. It also
// implements log.WithLogger.
func SDK(l zerolog.Logger) log.Logger { return logger{l} }

type logger struct{ l zerolog.Logger }

var _ log.WithLogger = logger{}

func (z logger) Debug(msg string, keyvals ...any) { z.l.Debug().Fields(pairs(keyvals)).Msg(msg) }
func (z logger) Info(msg string, keyvals ...any)  { z.l.Info().Fields(pairs(keyvals)).Msg(msg) }
func (z logger) Warn(msg string, keyvals ...any)  { z.l.Warn().Fields(pairs(keyvals)).Msg(msg) }
func (z logger) Error(msg string, keyvals ...any) { z.l.Error().Fields(pairs(keyvals)).Msg(msg) }

// With returns a logger that adds keyvals to every entry.
func (z logger) With(keyvals ...any) log.Logger {
	return logger{z.l.With().Fields(pairs(keyvals)).Logger()}
}

// pairs turns keyvals into a list of string keys and values that zerolog
// takes as is. As in log/slog, a value without a string key is kept under
// BadKey rather than dropped or paired with the wrong value.
func pairs(keyvals []any) []any {
	out := make([]any, 0, len(keyvals)+len(keyvals)%2)
	for i := 0; i < len(keyvals); {
		var key string
		switch k := keyvals[i].(type) {
		case string:
			key = k
		default:
			out = append(out, BadKey, keyvals[i])
			i++
			continue
		}
		if i+1 == len(keyvals) {
			out = append(out, BadKey, key)
			break
		}
		out = append(out, key, keyvals[i+1])
		i += 2
	}
	return out
}
