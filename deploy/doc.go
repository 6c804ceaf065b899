// Package deploy holds the files of tend's docker-compose deployment
// (tend.yaml, the Temporal schema script and dynamic config, which
// ../docker-compose.yml mounts) and the tests that check the compose file
// against them. No Docker engine runs in CI, so the checks are static:
// compose_test.go parses the compose file, and runs `docker-compose config`
// where the tool is installed. See docs/cluster.md.
package deploy
