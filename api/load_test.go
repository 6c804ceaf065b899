package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tend-cs/tend/workflows"
)

var (
	loadDuration  = flag.Duration("load-duration", defaultLoadDuration(), "how long TestLoad sends (default 10s when CI=true, else 30s)")
	loadRate      = flag.Int("load-rate", 200, "TestLoad's steady rate, events per second")
	loadCustomers = flag.Int("load-customers", 1000, "customers TestLoad spreads its steady load over")
	loadHot       = flag.Int("load-hot", 5000, "events per minute TestLoad sends to one hot customer (0 for none)")
	loadBurst     = flag.Bool("load-burst", true, "TestLoad sends a burst of 10 times the rate for a tenth of the time")
)

// defaultLoadDuration is 10s in CI (CI=true), 30s elsewhere.
func defaultLoadDuration() time.Duration {
	if os.Getenv("CI") == "true" {
		return 10 * time.Second
	}
	return 30 * time.Second
}

// loadReq is one POST /v1/events of the load test.
type loadReq struct {
	class string   // steady, burst or hot
	ids   []string // the ids of its events, in order
	custs []string // their customers
	body  []byte
}

// loadStats collects what the load test's senders saw.
type loadStats struct {
	mu        sync.Mutex
	latencies map[string][]time.Duration // by request class, and "all"
	accepted  map[string]map[string]bool // customer → ids Temporal took
	requests  int
	retries   int
	reasons   map[string]int // why requests were retried: status and the error's start
	failed    []string
}

func (s *loadStats) record(class string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	s.latencies[class] = append(s.latencies[class], d)
	s.latencies["all"] = append(s.latencies["all"], d)
}

func (s *loadStats) accept(req loadReq, indexes []int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, i := range indexes {
		if s.accepted[req.custs[i]] == nil {
			s.accepted[req.custs[i]] = map[string]bool{}
		}
		s.accepted[req.custs[i]][req.ids[i]] = true
	}
}

func percentile(l []time.Duration, p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	l = slices.Clone(l)
	slices.Sort(l)
	return l[min(len(l)-1, int(p*float64(len(l))))]
}

// TestLoad sends events over loopback for -load-duration: a steady
// -load-rate events per second as single-event requests spread over
// -load-customers customers, a burst of ten times that rate (batches of 10)
// for a tenth of the time, and one hot customer getting 5,000 events per
// minute, all with ids, from 64 concurrent senders. A sender retries a
// refused request (same ids) up to 10 times. Then the test waits until
// every journey has handled all it was sent and checks that no accepted
// event was lost and none applied twice. It reports throughput and latency
// but asserts nothing about them. Skipped with -short.
//
//	go test ./api -run TestLoad -v -args -load-duration 60s
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test: skipped with -short")
	}
	start(t)
	d := *loadDuration
	const tick = 50 * time.Millisecond
	ticks := max(1, int(d/tick))
	perTick := float64(*loadRate) * tick.Seconds()
	hotTotal := int(float64(*loadHot) * d.Seconds() / 60)
	burstFrom, burstTo := ticks*4/10, ticks*5/10
	if !*loadBurst {
		burstTo = burstFrom
	}
	burstBatches := int(perTick * 9 / 10) // per tick: with the steady load, 10× the rate

	run := fmt.Sprintf("L%d", seq.Add(1))
	hot := run + "-hot"
	customers := make([]string, *loadCustomers)
	for i := range customers {
		customers[i] = fmt.Sprintf("%s-c%04d", run, i)
	}
	generated := map[string]int{} // events per customer
	next := 0
	newReq := func(class string, n int) loadReq {
		req := loadReq{class: class}
		var b bytes.Buffer
		if n > 1 {
			b.WriteByte('[')
		}
		for k := range n {
			cust := hot
			if class != "hot" {
				cust = customers[next%len(customers)]
				next += 7 // co-prime with 1,000: spreads the load, and reaches everyone
			}
			id := fmt.Sprintf("%s-%d", cust, generated[cust])
			generated[cust]++
			if k > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"id":%q,"type":"csat.responded","customer":%q,"data":{"score":%d,"comment":"load test"}}`, id, cust, generated[cust]%11)
			req.ids, req.custs = append(req.ids, id), append(req.custs, cust)
		}
		if n > 1 {
			b.WriteByte(']')
		}
		req.body = b.Bytes()
		return req
	}

	transport := &http.Transport{MaxIdleConns: 128, MaxIdleConnsPerHost: 128}
	defer transport.CloseIdleConnections()
	hc := &http.Client{Transport: transport, Timeout: time.Minute}
	stats := &loadStats{latencies: map[string][]time.Duration{}, accepted: map[string]map[string]bool{}, reasons: map[string]int{}}
	work := make(chan loadReq, 256)
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for req := range work {
				sendLoad(hc, req, stats)
			}
		})
	}

	began := time.Now()
	ticker := time.NewTicker(tick)
	var steadyDebt, hotDebt float64
	total, steady, burst := 0, 0, 0
	for i := range ticks {
		steadyDebt += perTick
		hotDebt += float64(hotTotal) / float64(ticks)
		for ; steadyDebt >= 1; steadyDebt-- {
			work <- newReq("steady", 1)
			total++
			steady++
		}
		if i >= burstFrom && i < burstTo {
			for range burstBatches {
				work <- newReq("burst", 10)
				total += 10
				burst += 10
			}
		}
		for ; hotDebt >= 1; hotDebt-- {
			work <- newReq("hot", 1)
			total++
		}
		<-ticker.C
	}
	ticker.Stop()
	close(work)
	wg.Wait()
	sendTime := time.Since(began)

	// Wait until every journey has handled every event it was sent.
	drainStart := time.Now()
	pending := make([]string, 0, len(generated))
	for c := range generated {
		pending = append(pending, c)
	}
	slices.Sort(pending)
	expect := map[string]int{}
	accepted := 0
	for c, ids := range stats.accepted {
		expect[c] = len(ids)
		accepted += len(ids)
	}
	journeys := map[string]workflows.JourneyStats{}
	deadline := time.Now().Add(max(3*time.Minute, 10*d))
	poll := time.NewTicker(250 * time.Millisecond)
	for {
		pending = readStats(pending, expect, journeys)
		if len(pending) == 0 || time.Now().After(deadline) {
			break
		}
		<-poll.C
	}
	poll.Stop()
	drain := time.Since(drainStart)

	lost, twice, dups, rejected := 0, 0, 0, 0
	for c, n := range generated {
		s := journeys[c]
		lost += max(0, expect[c]-s.Applied) // accepted, never applied
		twice += max(0, s.Applied-n)        // more applications than events
		dups += s.Duplicates
		rejected += s.Rejected
	}
	t.Logf("load: %d events generated (%d steady, %d in the burst, %d to the hot customer) for %d customers; %d accepted; %d requests, %d retries, %d failed",
		total, steady, burst, generated[hot], len(generated), accepted,
		stats.requests, stats.retries, len(stats.failed))
	t.Logf("load: sent in %v (planned %v): %.0f events/s accepted", sendTime.Round(time.Millisecond), d, float64(accepted)/sendTime.Seconds())
	for _, class := range []string{"all", "steady", "burst", "hot"} {
		l := stats.latencies[class]
		t.Logf("load: POST /v1/events latency, %-6s %5d requests: p50 %v, p99 %v, max %v", class, len(l),
			percentile(l, .5).Round(100*time.Microsecond), percentile(l, .99).Round(100*time.Microsecond), percentile(l, 1).Round(time.Millisecond))
	}
	t.Logf("load: every journey caught up %v after the last request; lost %d, applied twice %d, dropped as duplicates %d, rejected %d; %d customers not caught up",
		drain.Round(time.Millisecond), lost, twice, dups, rejected, len(pending))
	for r, n := range stats.reasons {
		t.Logf("load: %d retries after %s", n, r)
	}
	for _, f := range stats.failed[:min(3, len(stats.failed))] {
		t.Logf("load: failed: %s", f)
	}
	if lost != 0 || twice != 0 || rejected != 0 || len(pending) != 0 {
		t.Fatalf("lost %d, applied twice %d, rejected %d, %d customers not caught up", lost, twice, rejected, len(pending))
	}
	if len(stats.failed) > 0 {
		t.Errorf("%d requests failed 10 times in a row", len(stats.failed))
	}
}

// sendLoad posts one request, retrying a refusal with the same body (so
// the same ids) up to 10 times, and records what Temporal accepted.
func sendLoad(hc *http.Client, req loadReq, stats *loadStats) {
	last := ""
	for attempt := 1; attempt <= 10; attempt++ {
		hr, _ := http.NewRequest(http.MethodPost, env.url+"/v1/events", bytes.NewReader(req.body))
		hr.Header.Set("Authorization", "Bearer "+tokens[0])
		hr.Header.Set("Content-Type", "application/json")
		t0 := time.Now()
		res, err := hc.Do(hr)
		var body []byte
		if err == nil {
			body, _ = io.ReadAll(res.Body)
			res.Body.Close()
		}
		stats.record(req.class, time.Since(t0))
		if err != nil {
			last = err.Error()
		} else {
			var out struct {
				Sent []int `json:"sent"`
			}
			switch res.StatusCode {
			case http.StatusAccepted:
				all := make([]int, len(req.ids))
				for i := range all {
					all[i] = i
				}
				stats.accept(req, all)
				return
			case http.StatusServiceUnavailable, http.StatusInternalServerError:
				if json.Unmarshal(body, &out) == nil {
					stats.accept(req, out.Sent)
				}
			}
			last = fmt.Sprintf("%d %s", res.StatusCode, strings.TrimSpace(string(body)))
		}
		stats.mu.Lock()
		stats.retries++
		stats.reasons[reason(last)]++
		stats.mu.Unlock()
	}
	stats.mu.Lock()
	stats.failed = append(stats.failed, last)
	stats.mu.Unlock()
}

// reason shortens a refusal to its status and the gist of its error, with
// the customer and ids left out, to count retries by cause.
func reason(s string) string {
	if i := strings.Index(s, "failed: "); i >= 0 {
		s = s[:4] + s[i+len("failed: "):]
	}
	if i := strings.Index(s, ": "); i >= 0 && i > 4 {
		s = s[:4] + s[i+2:]
	}
	if i := strings.Index(s, `; the events`); i >= 0 {
		s = s[:i]
	}
	return s
}

// readStats queries the journeys of pending customers, 16 at a time, and
// returns those that have not yet handled the events accepted for them.
func readStats(pending []string, expect map[string]int, journeys map[string]workflows.JourneyStats) []string {
	var (
		mu   sync.Mutex
		left []string
		wg   sync.WaitGroup
	)
	sem := make(chan struct{}, 16)
	for _, c := range pending {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var v workflows.JourneyView
			val, err := env.cl.QueryWorkflow(ctx, workflows.JourneyID(c), "", workflows.QueryState)
			if err == nil {
				err = val.Get(&v)
			}
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				journeys[c] = v.Stats
			}
			if s := journeys[c]; expect[c] > 0 && (err != nil || s.Applied+s.Duplicates < expect[c]) {
				left = append(left, c)
			}
		})
	}
	wg.Wait()
	slices.Sort(left)
	return left
}
