package main

import (
	"io"

	"github.com/rs/zerolog"
)

// newLogger returns the CLI's logger: human-readable lines on w, at debug
// level when verbose and warnings otherwise.
func newLogger(w io.Writer, verbose bool) zerolog.Logger {
	level := zerolog.WarnLevel
	if verbose {
		level = zerolog.DebugLevel
	}
	return zerolog.New(zerolog.ConsoleWriter{Out: w, NoColor: true, TimeFormat: "15:04:05"}).Level(level).With().Timestamp().Logger()
}
