package config

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tend-cs/tend/engine/tendfmt"
)

var update = flag.Bool("update", false, "rewrite testdata/invalid/*.err from the current messages")

func fakeEnv(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

var testEnv = fakeEnv(map[string]string{
	"SMTP_PASSWORD":    "smtp-pass",
	"SLACK_CS_ALERTS":  "https://hooks.slack.example/T1/B1/cs",
	"SLACK_SALES":      "https://hooks.slack.example/T1/B2/sales",
	"CRM_SECRET":       "crm-secret",
	"TEMPORAL_API_KEY": "api-key",
	"EMPTY_VAR":        "",
	// API tokens and signing secrets.
	"TEND_API_TOKEN":      "tok-0123456789abcdef",
	"TEND_API_TOKEN_COPY": "tok-0123456789abcdef",
	"TEND_API_TOKEN_NEW":  "tok-fedcba9876543210",
	"CRM_SIGNING_SECRET":  "crm-signing-secret",
	"TEND_LINK_SECRET":    "link-secret-0123456789",
	"TEND_CODEC_KEY":      "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=",
})

func TestParseFull(t *testing.T) {
	file := filepath.Join("testdata", "valid", "full.yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(file, data, testEnv)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	dir := filepath.Join("testdata", "valid")
	want := &Config{
		Path: file,
		Temporal: Temporal{
			Address:   "tend.a1b2c.tmprl.cloud:7233",
			Namespace: "tend.a1b2c",
			TLS: &TLS{
				Cert:       filepath.Join(dir, "client.pem"),
				Key:        filepath.Join(dir, "client.key"),
				CA:         filepath.Join(dir, "ca.pem"),
				ServerName: "tend.a1b2c.tmprl.cloud",
			},
		},
		Playbooks: filepath.Join(dir, "playbooks"),
		Outbox:    "/var/spool/tend/outbox",
		Email: &Email{
			Addr: "smtp.example.com:465", Username: "tend", Password: "smtp-pass",
			From: "Customer Success <cs@vendor.example>", TLS: TLSImplicit, Timeout: time.Minute, RetryFor: 72 * time.Hour,
		},
		Chat: Chat{Default: "cs-alerts", Channels: map[string]Channel{
			"cs-alerts": {Webhook: "https://hooks.slack.example/T1/B1/cs"},
			"sales":     {Webhook: "https://hooks.slack.example/T1/B2/sales"},
		}, RetryFor: 90 * time.Minute},
		Users: map[string]User{"max@vendor.example": {Slack: "U0123ABC"}, "jo@vendor.example": {Slack: "W0456DEF"}},
		Endpoints: map[string]Endpoint{
			"crm":     {URL: "https://crm.example/hooks/tend", Secret: "crm-secret", Timeout: 5 * time.Second, RetryFor: 48 * time.Hour},
			"billing": {URL: "http://localhost:9000/tend", Secret: "literal-secret", Timeout: DefaultEndpointTimeout},
		},
		API: API{
			Listen:         "127.0.0.1:8080",
			Tokens:         []Secret{"tok-0123456789abcdef", "tok-fedcba9876543210", "literal-token-ok-too"},
			SigningSecrets: []Secret{"crm-signing-secret", "another-signing-secret"},
			MaxBody:        512 << 10,
			RateLimit:      2.5,
			Set:            true,
		},
		Staff: map[string]StaffMember{
			"jo@vendor.example":        {Timezone: "Europe/Berlin", Hours: "08:30-16:30", Workdays: []string{"mon", "tue", "thu"}},
			"pooled-cs@vendor.example": {Seats: 4, Notice: "4h"},
		},
		Codec: &Codec{
			Keys: map[string]Secret{
				"2026-01": Secret(strings.Repeat("\x02", KeySize)),
				"2025-07": Secret(strings.Repeat("\x01", KeySize)),
			},
			Primary:  "2026-01",
			UIOrigin: "https://temporal-ui.vendor.example:8443",
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse(full.yaml):\n got %s\nwant %s", dump(got), dump(want))
	}
	if names := got.EndpointNames(); !reflect.DeepEqual(names, []string{"billing", "crm"}) {
		t.Errorf("EndpointNames = %v", names)
	}
	if names := got.Chat.ChannelNames(); !reflect.DeepEqual(names, []string{"cs-alerts", "sales"}) {
		t.Errorf("ChannelNames = %v", names)
	}
}

// dump shows secrets, which fmt and encoding/json would redact.
func dump(c *Config) string {
	s := fmt.Sprintf("%+v", *c)
	if c.Email != nil {
		s += fmt.Sprintf(" email=%+v password=%s", *c.Email, string(c.Email.Password))
	}
	if c.Temporal.TLS != nil {
		s += fmt.Sprintf(" tls=%+v", *c.Temporal.TLS)
	}
	for name, e := range c.Endpoints {
		s += fmt.Sprintf(" %s.secret=%s", name, string(e.Secret))
	}
	for name, ch := range c.Chat.Channels {
		s += fmt.Sprintf(" %s.webhook=%s", name, string(ch.Webhook))
	}
	for i, t := range c.API.Tokens {
		s += fmt.Sprintf(" api.tokens[%d]=%s", i, string(t))
	}
	for i, t := range c.API.SigningSecrets {
		s += fmt.Sprintf(" api.signing_secrets[%d]=%s", i, string(t))
	}
	return s
}

func TestParseSmall(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want func(*Config)
	}{
		{"empty file", "", func(c *Config) {}},
		{"only comments", "# nothing yet\n", func(c *Config) {}},
		{"namespace", "temporal: {namespace: prod}", func(c *Config) { c.Temporal.Namespace = "prod" }},
		{"api key implies tls", "temporal: {api_key: {env: TEMPORAL_API_KEY}}", func(c *Config) {
			c.Temporal.APIKey, c.Temporal.TLS = "api-key", &TLS{}
		}},
		{"api key with tls off", "temporal: {api_key: \"${TEMPORAL_API_KEY}\", tls: false}", func(c *Config) {
			c.Temporal.APIKey = "api-key"
		}},
		{"tls true", "temporal: {tls: true}", func(c *Config) { c.Temporal.TLS = &TLS{} }},
		{"smtp default port, starttls", "email: {smtp: mail.example, from: cs@vendor.example}", func(c *Config) {
			c.Email = &Email{Addr: "mail.example:587", From: "cs@vendor.example", TLS: TLSStartTLS, Timeout: DefaultEmailTimeout}
		}},
		{"smtp without tls", "email: {smtp: localhost, from: cs@vendor.example, tls: none}", func(c *Config) {
			c.Email = &Email{Addr: "localhost:25", From: "cs@vendor.example", TLS: TLSNone, Timeout: DefaultEmailTimeout}
		}},
		{"single channel is the default", "chat: {channels: {alerts: {webhook: \"http://127.0.0.1:9/x\"}}}", func(c *Config) {
			c.Chat = Chat{Default: "alerts", Channels: map[string]Channel{"alerts": {Webhook: "http://127.0.0.1:9/x"}}}
		}},
		{"relative paths follow the file", "playbooks: pb\noutbox: ../out", func(c *Config) {
			c.Playbooks, c.Outbox = filepath.Join("conf", "pb"), "out"
		}},
		{"empty api section", "api: {}", func(c *Config) { c.API.Set = true }},
		{"links", "links: {base_url: \"https://tend.vendor.example\", secret: {env: TEND_LINK_SECRET}}", func(c *Config) {
			c.Links = &Links{BaseURL: "https://tend.vendor.example", Secret: "link-secret-0123456789"}
		}},
		{"api defaults", "api: {tokens: [\"${TEND_API_TOKEN}\"]}", func(c *Config) {
			c.API = API{Tokens: []Secret{"tok-0123456789abcdef"}, MaxBody: DefaultMaxBody, Set: true}
		}},
		{"api on every interface", "api: {listen: \":8080\"}", func(c *Config) {
			c.API = API{Listen: ":8080", MaxBody: DefaultMaxBody, Set: true}
		}},
		{"api listen ipv6", "api: {listen: \"[::1]:8080\"}", func(c *Config) {
			c.API = API{Listen: "[::1]:8080", MaxBody: DefaultMaxBody, Set: true}
		}},
		{"api listen host name", "api: {listen: tend.internal:443}", func(c *Config) {
			c.API = API{Listen: "tend.internal:443", MaxBody: DefaultMaxBody, Set: true}
		}},
		{"api tokens rotating", "api: {tokens: [{env: TEND_API_TOKEN}, {env: TEND_API_TOKEN_NEW}]}", func(c *Config) {
			c.API = API{Tokens: []Secret{"tok-0123456789abcdef", "tok-fedcba9876543210"}, MaxBody: DefaultMaxBody, Set: true}
		}},
		{"api signing secrets only", "api: {signing_secrets: [{env: CRM_SIGNING_SECRET}, short]}", func(c *Config) {
			c.API = API{SigningSecrets: []Secret{"crm-signing-secret", "short"}, MaxBody: DefaultMaxBody, Set: true}
		}},
		{"api rate limit 0 is unlimited", "api: {rate_limit: 0}", func(c *Config) { c.API.Set = true }},
		{"api rate limit integer", "api: {rate_limit: 100}", func(c *Config) {
			c.API = API{MaxBody: DefaultMaxBody, RateLimit: 100, Set: true}
		}},
		{"api rate limit string", "api: {rate_limit: \"0.5\"}", func(c *Config) {
			c.API = API{MaxBody: DefaultMaxBody, RateLimit: 0.5, Set: true}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("conf/tend.yaml", []byte(tt.yaml), testEnv)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			want := Default()
			want.Path = "conf/tend.yaml"
			want.Playbooks, want.Outbox = filepath.Join("conf", DefaultPlaybooks), filepath.Join("conf", DefaultOutbox)
			tt.want(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %s\nwant %s", dump(got), dump(want))
			}
		})
	}
}

// TestInvalid checks the messages for each file in testdata/invalid against
// its .err file. go test ./config -update rewrites them.
func TestInvalid(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "invalid", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			_, perr := Parse(file, data, testEnv)
			if perr == nil {
				t.Fatal("Parse accepted an invalid file")
			}
			if _, ok := perr.(tendfmt.ErrorList); !ok {
				t.Errorf("error is %T, want engine.ErrorList", perr)
			}
			got := perr.Error() + "\n"
			golden := strings.TrimSuffix(file, ".yaml") + ".err"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./config -update)", err)
			}
			if got != string(want) {
				t.Errorf("messages differ from %s:\n got:\n%s\nwant:\n%s", golden, got, want)
			}
			for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
				if !strings.HasPrefix(line, file+":") {
					t.Errorf("message without file:line:col: %s", line)
				}
				for _, secret := range []string{"hunter2", "XXXX", "YYYY", "secret-token", "s3cret", "0123456789abcdef", "crm-signing-secret"} {
					if strings.Contains(line, secret) {
						t.Errorf("message reveals a secret (%s): %s", secret, line)
					}
				}
			}
		})
	}
}

func TestMaxBody(t *testing.T) {
	tests := []struct {
		yaml string
		want int64
	}{
		{"1", 1},
		{"65536", 65536},
		{`"2048"`, 2048},
		{"100B", 100},
		{"512KiB", 512 << 10},
		{"512kib", 512 << 10},
		{"1MiB", 1 << 20},
		{`"1 MiB"`, 1 << 20},
		{"2MB", 2_000_000},
		{"64MiB", MaxBodyLimit},
		{"67108864", MaxBodyLimit},
		{"65536KiB", MaxBodyLimit},
		{"67MB", 67_000_000},
		{"0x400", 1024},
		{"{env: MAX_BODY}", 3 << 20},
	}
	env := fakeEnv(map[string]string{"MAX_BODY": "3MiB"})
	for _, tt := range tests {
		cfg, err := Parse("tend.yaml", []byte("api: {max_body: "+tt.yaml+"}"), env)
		if err != nil {
			t.Errorf("max_body %s: %v", tt.yaml, err)
			continue
		}
		if cfg.API.MaxBody != tt.want {
			t.Errorf("max_body %s = %d, want %d", tt.yaml, cfg.API.MaxBody, tt.want)
		}
	}
	for _, bad := range []string{"0", "-1", "1GiB", "64MiB1", "68MB", "65537KiB", "67108865", "1.5", "1.5MiB", "MiB", "1 MiB!", "1Mb/s", "true", "[1]", "{}"} {
		if _, err := Parse("tend.yaml", []byte("api: {max_body: "+bad+"}"), env); err == nil {
			t.Errorf("max_body %s accepted", bad)
		} else if !strings.Contains(err.Error(), "api.max_body") {
			t.Errorf("max_body %s: error does not name api.max_body: %v", bad, err)
		}
	}
}

func TestTooLarge(t *testing.T) {
	data := []byte("# " + strings.Repeat("x", MaxFileSize) + "\n")
	_, err := Parse("big.yaml", data, testEnv)
	if err == nil || err.Error() != "big.yaml:1:1: file is larger than 1048576 bytes (1 MiB)" {
		t.Errorf("err = %v", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)

	cfg, err := Load("")
	if err != nil {
		t.Fatalf("Load without tend.yaml: %v", err)
	}
	if !reflect.DeepEqual(cfg, Default()) {
		t.Errorf("Load without tend.yaml = %+v, want the defaults", cfg)
	}

	if _, err := Load("missing.yaml"); err == nil || err.Error() != "missing.yaml: config file does not exist" {
		t.Errorf("Load(missing.yaml) error = %v", err)
	}

	t.Setenv("TEND_TEST_CRM_SECRET", "from-env")
	yaml := "endpoints:\n  crm: {url: https://crm.example/hook, secret: {env: TEND_TEST_CRM_SECRET}}\n"
	if err := os.WriteFile(DefaultPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err = Load("")
	if err != nil {
		t.Fatalf("Load(tend.yaml): %v", err)
	}
	if got := string(cfg.Endpoints["crm"].Secret); got != "from-env" {
		t.Errorf("crm secret = %q, want the environment's value", got)
	}
	if cfg.Path != DefaultPath || cfg.Playbooks != DefaultPlaybooks {
		t.Errorf("Path, Playbooks = %q, %q", cfg.Path, cfg.Playbooks)
	}

	sub := filepath.Join(dir, "etc")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	explicit := filepath.Join(sub, "tend.yaml")
	if err := os.WriteFile(explicit, []byte("endpoints:\n  crm: {url: https://crm.example/hook, secret: {env: TEND_TEST_UNSET}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(explicit)
	want := explicit + ":2:54: endpoints.crm.secret: environment variable TEND_TEST_UNSET is not set"
	if err == nil || err.Error() != want {
		t.Errorf("Load with an unset variable:\n got %v\nwant %s", err, want)
	}
}

func TestSecretRedacted(t *testing.T) {
	e := Endpoint{URL: "https://crm.example", Secret: "very-secret"}
	for _, s := range []string{fmt.Sprint(e), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e), fmt.Sprint(e.Secret)} {
		if strings.Contains(s, "very-secret") {
			t.Errorf("formatted endpoint reveals the secret: %s", s)
		}
	}
	b, err := json.Marshal(e)
	if err != nil || strings.Contains(string(b), "very-secret") {
		t.Errorf("json %s, %v", b, err)
	}
	if string(e.Secret) != "very-secret" {
		t.Error("string() must give the value")
	}

	a := API{Tokens: []Secret{"very-secret-token"}, SigningSecrets: []Secret{"very-secret-key"}}
	for _, s := range []string{fmt.Sprint(a), fmt.Sprintf("%+v", a), fmt.Sprintf("%#v", a)} {
		if strings.Contains(s, "very-secret") {
			t.Errorf("formatted api reveals a secret: %s", s)
		}
	}
	if b, err := json.Marshal(a); err != nil || strings.Contains(string(b), "very-secret") {
		t.Errorf("json %s, %v", b, err)
	}
}

func TestHint(t *testing.T) {
	candidates := []string{"address", "endpoints", "namespace"}
	tests := []struct{ name, want string }{
		{"adress", "; did you mean address?"},
		{"Endpoint", "; did you mean endpoints?"},
		{"namesapce", "; did you mean namespace?"},
		{"zzz", "; valid: address, endpoints, namespace"},
	}
	for _, tt := range tests {
		if got := hint(tt.name, candidates); got != tt.want {
			t.Errorf("hint(%s) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// A client's config may leave the server's secrets unset, never the
// temporal: section's.
func TestLoadClient(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tend.yaml")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("temporal: {address: t.internal:7233}\napi: {tokens: [{env: TEND_TEST_UNSET_A}, {env: TEND_TEST_UNSET_B}]}\n" +
		"chat: {channels: {a: {webhook: {env: TEND_TEST_UNSET_C}}}}\nemail: {smtp: smtp.example.com, username: tend, from: cs@vendor.example, password: {env: TEND_TEST_UNSET_D}}\n")
	if _, err := Load(path); err == nil {
		t.Fatal("Load accepted unset variables")
	}
	cfg, err := LoadClient(path)
	if err != nil {
		t.Fatalf("LoadClient: %v", err)
	}
	if cfg.Temporal.Address != "t.internal:7233" {
		t.Errorf("address %q", cfg.Temporal.Address)
	}
	write("temporal: {address: t.internal:7233, api_key: {env: TEND_TEST_UNSET_E}}\napi: {tokens: [{env: TEND_TEST_UNSET_A}]}\n")
	_, err = LoadClient(path)
	if err == nil || !strings.Contains(err.Error(), "temporal.api_key: environment variable TEND_TEST_UNSET_E is not set") || strings.Contains(err.Error(), "TEND_TEST_UNSET_A") {
		t.Errorf("LoadClient with an unset temporal.api_key: %v", err)
	}
	// The codec's keys are a client's too: it encrypts what it sends.
	write("codec: {keys: {k1: {env: TEND_TEST_UNSET_F}}}\napi: {tokens: [{env: TEND_TEST_UNSET_A}]}\n")
	_, err = LoadClient(path)
	if err == nil || !strings.Contains(err.Error(), "codec.keys.k1: environment variable TEND_TEST_UNSET_F is not set") || strings.Contains(err.Error(), "TEND_TEST_UNSET_A") {
		t.Errorf("LoadClient with an unset codec key: %v", err)
	}
	write("temporal: {adress: x:1}\napi: {tokens: [{env: TEND_TEST_UNSET_A}]}\n")
	if _, err := LoadClient(path); err == nil || !strings.Contains(err.Error(), "adress") {
		t.Errorf("LoadClient with a typo: %v", err)
	}
}
