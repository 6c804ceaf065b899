//go:build tools

// Package tools pins modules that packages are about to import, so that
// go mod tidy keeps them while those packages are written.
package tools

import (
	_ "github.com/arran4/golang-ical"
	_ "github.com/emersion/go-smtp"
	_ "github.com/temporalio/ui-server/v2/server"
	_ "github.com/wneessen/go-mail"
	_ "go.temporal.io/sdk/client"
	_ "go.temporal.io/sdk/testsuite"
	_ "go.temporal.io/sdk/worker"
	_ "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	_ "go.temporal.io/server/temporal"
)
