package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// healthcheckCmd is `tend healthcheck URL`: GET the URL and exit 0 on a 2xx
// answer, 1 otherwise. The image is distroless, with no curl or wget, so
// the compose file's health checks run tend itself.
type healthcheckCmd struct {
	URL     string        `arg:"" placeholder:"URL" help:"the URL to GET, such as http://127.0.0.1:9090/healthz"`
	Timeout time.Duration `default:"5s" help:"give up after this long"`
}

// Help is the text `tend healthcheck --help` prints under the summary.
func (a *healthcheckCmd) Help() string {
	return "Exits 0 when the URL answers 2xx, 1 with the status and the start of the body otherwise (or when it " +
		"cannot be reached), 2 on a bad URL. For container health checks: " +
		`test: ["CMD", "/tend", "healthcheck", "http://127.0.0.1:9090/healthz"]` + "\n"
}

// Validate checks the URL and --timeout. kong calls it.
func (a *healthcheckCmd) Validate() error {
	u, err := url.Parse(a.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("%q is not an http or https URL; want one such as http://127.0.0.1:9090/healthz", a.URL)
	}
	if a.Timeout <= 0 {
		return usagef("--timeout %s: want a positive duration such as 5s", a.Timeout)
	}
	return nil
}

// Run GETs the URL.
func (a *healthcheckCmd) Run(env *cliEnv) error {
	ctx, cancel := context.WithTimeout(env.context(), a.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.URL, nil)
	if err != nil {
		return usagef("%s: %v", a.URL, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return failedf("GET %s: %v", a.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return failedf("GET %s: %s: %s", a.URL, resp.Status, strings.TrimSpace(string(body)))
	}
	fmt.Fprintf(env.stdout, "%s: %s\n", resp.Status, strings.TrimSpace(string(body)))
	return nil
}
