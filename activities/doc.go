// Package activities will carry out the engine's actions: email, calendar
// invites, tasks, chat, webhooks and escalations. It imports engine, never
// workflows. It holds no code yet; the durable-execution issue fills it.
package activities
