package deploy

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.temporal.io/api/enums/v1"
	"gopkg.in/yaml.v3"

	"github.com/tend-cs/tend/config"
	"github.com/tend-cs/tend/workflows"
)

const (
	composeFile = "../docker-compose.yml"
	envExample  = "../.env.example"
	tendYAML    = "tend.yaml"
)

// compose is the part of a compose file the tests read.
type compose struct {
	Services map[string]service `yaml:"services"`
	Volumes  map[string]any     `yaml:"volumes"`
}

type service struct {
	Image         string                   `yaml:"image"`
	Build         any                      `yaml:"build"`
	Command       []string                 `yaml:"command"`
	Entrypoint    []string                 `yaml:"entrypoint"`
	Environment   map[string]string        `yaml:"environment"`
	Ports         []string                 `yaml:"ports"`
	Volumes       []string                 `yaml:"volumes"`
	DependsOn     map[string]dependsOn     `yaml:"depends_on"`
	Healthcheck   *struct{ Test []string } `yaml:"healthcheck"`
	Restart       string                   `yaml:"restart"`
	Profiles      []string                 `yaml:"profiles"`
	ContainerName string                   `yaml:"container_name"`
	Deploy        struct {
		Replicas int `yaml:"replicas"`
	} `yaml:"deploy"`
}

type dependsOn struct {
	Condition string `yaml:"condition"`
}

func load(t *testing.T) (compose, []byte) {
	t.Helper()
	b, err := os.ReadFile(composeFile)
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("%s: %v", composeFile, err)
	}
	return c, b
}

// tendServices are the services that run the tend image.
var tendServices = []string{"tend-setup", "tend-publish", "tend-worker", "tend-serve"}

// TestServices: every service tend needs is there, each image pinned, the
// start order enforced with the right conditions, and a mail catcher only
// behind a profile.
func TestServices(t *testing.T) {
	c, _ := load(t)
	want := map[string]string{ // service → image name, without the tag
		"postgresql":      "postgres",
		"temporal-schema": "temporalio/admin-tools",
		"temporal":        "temporalio/server",
		"temporal-ui":     "temporalio/ui",
		"tend-setup":      "tend",
		"tend-publish":    "tend",
		"tend-worker":     "tend",
		"tend-serve":      "tend",
	}
	for name, image := range want {
		s, ok := c.Services[name]
		if !ok {
			t.Errorf("no service %s", name)
			continue
		}
		if got, _, _ := strings.Cut(s.Image, ":"); got != image {
			t.Errorf("%s: image %q, want %s:<tag>", name, s.Image, image)
		}
		if len(s.Profiles) > 0 {
			t.Errorf("%s: behind profiles %v; it must run by default", name, s.Profiles)
		}
	}
	// The server, its admin tools and the UI at the versions tend is built
	// and tested with: server 1.32.x, as go.mod's go.temporal.io/server.
	for name, tag := range map[string]string{"temporal": "1.32.", "temporal-schema": "1.32."} {
		if _, got, _ := strings.Cut(c.Services[name].Image, ":"); !strings.HasPrefix(got, tag) {
			t.Errorf("%s: image %q, want tag %s*", name, c.Services[name].Image, tag)
		}
	}
	for name, s := range c.Services {
		_, tag, ok := strings.Cut(s.Image, ":")
		if !ok || tag == "" || tag == "latest" {
			t.Errorf("%s: image %q is not pinned to a tag (latest is not one)", name, s.Image)
		}
		if s.ContainerName != "" {
			t.Errorf("%s: container_name %q stops it from scaling", name, s.ContainerName)
		}
		if s.Restart == "" {
			t.Errorf("%s: no restart policy", name)
		}
		if strings.HasPrefix(s.Image, "axllent/mailpit") && !slices.Equal(s.Profiles, []string{"mail"}) {
			t.Errorf("%s: a mail catcher must be behind profiles: [mail], has %v", name, s.Profiles)
		}
	}
	for _, name := range tendServices {
		if c.Services[name].Build == nil {
			t.Errorf("%s: no build: the tend image is built from the Dockerfile", name)
		}
	}
	w := c.Services["tend-worker"]
	if w.Deploy.Replicas < 2 {
		t.Errorf("tend-worker: deploy.replicas %d, want 2 or more", w.Deploy.Replicas)
	}
}

// TestDependencies: depends_on names existing services, with a condition
// the target can meet: service_healthy needs a health check, and
// service_completed_successfully a one-shot service.
func TestDependencies(t *testing.T) {
	c, _ := load(t)
	want := map[string]map[string]string{
		"temporal-schema": {"postgresql": "service_healthy"},
		"temporal":        {"temporal-schema": "service_completed_successfully"},
		"temporal-ui":     {"temporal": "service_healthy"},
		"tend-setup":      {"temporal": "service_healthy"},
		"tend-publish":    {"tend-setup": "service_completed_successfully"},
		"tend-worker":     {"tend-publish": "service_completed_successfully"},
		"tend-serve":      {"tend-setup": "service_completed_successfully"},
	}
	for name, deps := range want {
		got := map[string]string{}
		for d, on := range c.Services[name].DependsOn {
			got[d] = on.Condition
		}
		if !reflect.DeepEqual(got, deps) {
			t.Errorf("%s: depends_on %v, want %v", name, got, deps)
		}
	}
	for name, s := range c.Services {
		for d, on := range s.DependsOn {
			target, ok := c.Services[d]
			switch {
			case !ok:
				t.Errorf("%s: depends on %s, which is not a service", name, d)
			case on.Condition == "service_healthy" && target.Healthcheck == nil:
				t.Errorf("%s: waits for %s to be healthy, which has no healthcheck", name, d)
			case on.Condition == "service_completed_successfully" && target.Restart != "no" && !strings.HasPrefix(target.Restart, "on-failure"):
				t.Errorf("%s: waits for %s to complete, whose restart policy %q restarts it after success", name, d, target.Restart)
			case on.Condition != "service_healthy" && on.Condition != "service_completed_successfully" && on.Condition != "service_started":
				t.Errorf("%s: depends_on %s: unknown condition %q", name, d, on.Condition)
			}
		}
	}
	for _, name := range []string{"postgresql", "temporal", "tend-worker", "tend-serve"} {
		if c.Services[name].Healthcheck == nil {
			t.Errorf("%s: no healthcheck", name)
		}
	}
}

// flagValue is the value after flag in args, or "".
func flagValue(args []string, flag string) string {
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v
		}
	}
	return ""
}

// mountOf is the volume or host path mounted at the directory holding
// path, or "".
func mountOf(s service, path string) string {
	best, src := "", ""
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 {
			continue
		}
		if target := parts[1]; (path == target || strings.HasPrefix(path, target+"/")) && len(target) > len(best) {
			best, src = target, parts[0]
		}
	}
	return src
}

// TestTendServices: the commands, the shared store, the health checks on
// the ports the commands listen on, and the API port published.
func TestTendServices(t *testing.T) {
	c, _ := load(t)
	cfg := loadTendYAML(t)
	wantCmd := map[string]string{"tend-setup": "setup", "tend-publish": "publish", "tend-worker": "worker", "tend-serve": "serve"}
	for name, cmd := range wantCmd {
		if got := c.Services[name].Command; len(got) == 0 || got[0] != cmd {
			t.Errorf("%s: command %v, want tend %s", name, got, cmd)
		}
	}
	// Every worker reads the one store tend publish writes, on a named volume.
	w, p := c.Services["tend-worker"], c.Services["tend-publish"]
	store := flagValue(w.Command, "--store")
	if store == "" || flagValue(p.Command, "--store") != store {
		t.Errorf("tend-worker --store %q and tend-publish --store %q must be the same directory", store, flagValue(p.Command, "--store"))
	}
	// tend serve checks events against the schema of the set the workers
	// run: the store's active set.
	if got := flagValue(c.Services["tend-serve"].Command, "--store"); got != store {
		t.Errorf("tend-serve --store %q, tend-worker --store %q: the API must follow the set the workers run", got, store)
	}
	vol := mountOf(w, store)
	if _, named := c.Volumes[vol]; !named || mountOf(p, store) != vol {
		t.Errorf("the store %s is on %q for tend-worker and %q for tend-publish; want one named volume declared under volumes:", store, vol, mountOf(p, store))
	}
	// Every named volume is declared; every bind mount's source exists.
	for name, s := range c.Services {
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			switch {
			case strings.HasPrefix(src, "./"):
				if _, err := os.Stat(filepath.Join("..", src)); err != nil {
					t.Errorf("%s: mounts %s: %v", name, src, err)
				}
			case strings.HasPrefix(src, "/"):
			default:
				if _, ok := c.Volumes[src]; !ok {
					t.Errorf("%s: volume %s is not declared under volumes:", name, src)
				}
			}
		}
	}
	// Health checks run tend itself (the image has no curl) against the
	// address the command serves /healthz on.
	_, apiPort, err := net.SplitHostPort(cfg.API.Listen)
	if err != nil {
		t.Fatalf("tend.yaml api.listen %q: %v", cfg.API.Listen, err)
	}
	_, workerPort, _ := net.SplitHostPort(flagValue(w.Command, "--http"))
	for name, want := range map[string][]string{
		"tend-worker": {"CMD", "/usr/local/bin/tend", "healthcheck", "http://127.0.0.1:" + workerPort + "/healthz"},
		"tend-serve":  {"CMD", "/usr/local/bin/tend", "healthcheck", "http://127.0.0.1:" + apiPort + "/healthz"},
	} {
		if got := c.Services[name].Healthcheck.Test; !slices.Equal(got, want) {
			t.Errorf("%s: healthcheck %v, want %v", name, got, want)
		}
	}
	if workerPort == "" {
		t.Errorf("tend-worker: no --http HOST:PORT in %v", w.Command)
	}
	if !slices.ContainsFunc(c.Services["tend-serve"].Ports, func(p string) bool { return strings.HasSuffix(p, ":"+apiPort) }) {
		t.Errorf("tend-serve: ports %v do not publish the API port %s of tend.yaml", c.Services["tend-serve"].Ports, apiPort)
	}
	for _, name := range tendServices {
		s := c.Services[name]
		if s.Environment["TEND_CONFIG"] != "/etc/tend/tend.yaml" || mountOf(s, "/etc/tend/tend.yaml") != "./deploy/tend.yaml" {
			t.Errorf("%s: does not read deploy/tend.yaml (TEND_CONFIG %q, mounted from %q)", name, s.Environment["TEND_CONFIG"], mountOf(s, "/etc/tend/tend.yaml"))
		}
	}
}

// TestTemporal: tend.yaml reaches the temporal service, whose visibility
// store (PostgreSQL, not Elasticsearch) holds the search attributes tend
// setup registers, and the UI is wired to the same server and to tend's
// codec server.
func TestTemporal(t *testing.T) {
	c, _ := load(t)
	cfg := loadTendYAML(t)
	host, port, err := net.SplitHostPort(cfg.Temporal.Address)
	if err != nil {
		t.Fatal(err)
	}
	srv, ok := c.Services[host]
	if !ok || !strings.HasPrefix(srv.Image, "temporalio/server:") || port != "7233" {
		t.Errorf("tend.yaml temporal.address %s is not the temporalio/server service's frontend (port 7233)", cfg.Temporal.Address)
	}
	if cfg.Temporal.Namespace != config.DefaultNamespace && flagValue(c.Services["tend-setup"].Command, "--namespace") == "" {
		t.Errorf("tend.yaml namespace %s: tend-setup must register it", cfg.Temporal.Namespace)
	}
	env := srv.Environment
	if env["DB"] != "postgres12" || env["POSTGRES_SEEDS"] != "postgresql" || env["ENABLE_ES"] != "" {
		t.Errorf("temporal: DB %q, POSTGRES_SEEDS %q, ENABLE_ES %q; want PostgreSQL (postgres12) for persistence and visibility",
			env["DB"], env["POSTGRES_SEEDS"], env["ENABLE_ES"])
	}
	schema := c.Services["temporal-schema"]
	if !slices.Contains(schema.Entrypoint, "/deploy/temporal-schema.sh") || mountOf(schema, "/deploy/temporal-schema.sh") != "./deploy/temporal-schema.sh" {
		t.Errorf("temporal-schema: entrypoint %v does not run deploy/temporal-schema.sh", schema.Entrypoint)
	}
	script, err := os.ReadFile("temporal-schema.sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"--plugin postgres12", "visibility", "update-schema"} {
		if !bytes.Contains(script, []byte(w)) {
			t.Errorf("temporal-schema.sh does not contain %q", w)
		}
	}
	// PostgreSQL visibility maps custom search attributes to preallocated
	// columns: 10 of each type per namespace (Keyword01-Keyword10 in the
	// server's schema/postgresql/v12/visibility/schema.sql).
	count := map[enums.IndexedValueType]int{}
	for _, typ := range workflows.SearchAttributes() {
		count[typ]++
	}
	for typ, n := range count {
		if n > 10 {
			t.Errorf("tend setup registers %d search attributes of type %s; PostgreSQL visibility has room for 10", n, typ)
		}
	}

	ui := c.Services["temporal-ui"].Environment
	if ui["TEMPORAL_ADDRESS"] != cfg.Temporal.Address {
		t.Errorf("temporal-ui: TEMPORAL_ADDRESS %q, tend.yaml's temporal.address %q", ui["TEMPORAL_ADDRESS"], cfg.Temporal.Address)
	}
	if !strings.HasSuffix(ui["TEMPORAL_CODEC_ENDPOINT"], "/codec") || ui["TEMPORAL_CODEC_PASS_ACCESS_TOKEN"] != "true" {
		t.Errorf("temporal-ui: TEMPORAL_CODEC_ENDPOINT %q, TEMPORAL_CODEC_PASS_ACCESS_TOKEN %q; want tend serve's /codec and the user's token passed",
			ui["TEMPORAL_CODEC_ENDPOINT"], ui["TEMPORAL_CODEC_PASS_ACCESS_TOKEN"])
	}
	// The frontend and the UI take no credentials here and can signal,
	// reset and terminate workflows: published to this host only.
	for _, name := range []string{"temporal", "temporal-ui", "mailpit"} {
		for _, p := range c.Services[name].Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("%s: port %q is published on every interface; bind it to 127.0.0.1", name, p)
			}
		}
	}
}

// envRef is a variable reference in the compose file or tend.yaml:
// ${NAME}, ${NAME:-default}, ${NAME:?message}, or tend.yaml's {env: NAME}.
var envRef = regexp.MustCompile(`\$\{([A-Z_][A-Z0-9_]*)|\{env: *([A-Z_][A-Z0-9_]*)\}`)

func refs(b []byte) []string {
	var out []string
	for _, m := range envRef.FindAllSubmatch(b, -1) {
		name := string(m[1]) + string(m[2])
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// readEnvExample returns .env.example's variables and values.
func readEnvExample(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(envExample)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s:%d: %q is not NAME=value", envExample, n, line)
		}
		// A value in single quotes is literal, to docker-compose as to a shell.
		if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
			v = v[1 : len(v)-1]
		}
		vars[k] = v
	}
	return vars
}

// envLine is NAME=value as .env.example writes it: single-quoted when the
// value has a character a shell would read otherwise.
func envLine(k, v string) string {
	if strings.ContainsAny(v, " <>&|;$`\"'()*?#~") {
		v = "'" + v + "'"
	}
	return k + "=" + v + "\n"
}

// TestEnvExampleSourceable: a shell reads .env.example (set -a; . ./.env)
// to the same values as docker-compose, so that the tend CLI can be run on
// the host with the installation's .env.
func TestEnvExampleSourceable(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	cmd := exec.Command(sh, "-c", `set -a; . "$1" && env`, "sh", envExample)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sh cannot source %s: %v\n%s", envExample, err, out)
	}
	got := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			got[k] = v
		}
	}
	for k, want := range readEnvExample(t) {
		if got[k] != want {
			t.Errorf("sh reads %s as %q; docker-compose reads %q", k, got[k], want)
		}
	}
}

// secrets are the variables .env.example leaves empty, for the user to
// set: PostgreSQL and tend refuse to start without them.
var secrets = []string{"POSTGRES_PASSWORD", "TEND_API_TOKEN", "TEND_LINK_SECRET", "TEND_CODEC_KEY", "SMTP_PASSWORD"}

// filledEnv is .env.example with its secrets set, as a user sets them.
func filledEnv(t *testing.T) map[string]string {
	t.Helper()
	vars := readEnvExample(t)
	for _, k := range secrets {
		vars[k] = "test-" + strings.ToLower(k) + "-0123456789abcdef"
	}
	vars["TEND_CODEC_KEY"] = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{42}, 32))
	return vars
}

// TestEnvironment: every variable the compose file reads is in
// .env.example and every one there is read; every variable tend.yaml reads
// reaches the worker and the API.
func TestEnvironment(t *testing.T) {
	c, raw := load(t)
	example := readEnvExample(t)
	used := refs(raw)
	for _, name := range used {
		if _, ok := example[name]; !ok {
			t.Errorf("docker-compose.yml reads $%s, which .env.example does not list", name)
		}
	}
	for name := range example {
		if !slices.Contains(used, name) {
			t.Errorf(".env.example lists %s, which docker-compose.yml never reads", name)
		}
	}
	tendRaw, err := os.ReadFile(tendYAML)
	if err != nil {
		t.Fatal(err)
	}
	needed := refs(tendRaw)
	if len(needed) == 0 {
		t.Fatal("tend.yaml reads no variables; the secrets must come from the environment")
	}
	for _, name := range []string{"tend-worker", "tend-serve"} {
		for _, v := range needed {
			if _, ok := c.Services[name].Environment[v]; !ok {
				t.Errorf("%s: tend.yaml reads $%s, which its environment lacks", name, v)
			}
		}
	}
	for _, secret := range secrets {
		if !slices.Contains(used, secret) {
			t.Errorf("docker-compose.yml does not take %s from the environment", secret)
		}
		if example[secret] != "" {
			// A value that works out of the box would be the same on
			// every installation that forgot to change it.
			t.Errorf(".env.example sets %s; leave secrets empty, for the services to refuse until they are set", secret)
		}
	}
}

// loadTendYAML loads deploy/tend.yaml with config.Load, with the values of
// .env.example in the environment, as the containers get them.
func loadTendYAML(t *testing.T) *config.Config {
	t.Helper()
	for k, v := range filledEnv(t) {
		t.Setenv(k, v)
	}
	cfg, err := config.Load(tendYAML)
	if err != nil {
		t.Fatalf("config.Load(%s): %v", tendYAML, err)
	}
	if cfg.Codec == nil {
		t.Errorf("%s: no codec: section; customer data must be encrypted on a cluster", tendYAML)
	}
	return cfg
}

// TestTendYAML: the config loads, and names the directories the image and
// the compose file provide.
func TestTendYAML(t *testing.T) {
	cfg := loadTendYAML(t)
	if cfg.Playbooks != "/playbooks" || cfg.Outbox != "/data/outbox" {
		t.Errorf("tend.yaml: playbooks %q, outbox %q; want /playbooks (in the image) and /data/outbox (on the volume)", cfg.Playbooks, cfg.Outbox)
	}
	if len(cfg.API.Tokens) == 0 || cfg.Links == nil || cfg.Email == nil {
		t.Errorf("tend.yaml: want api.tokens, links and email, got %d tokens, links %v, email %v", len(cfg.API.Tokens), cfg.Links != nil, cfg.Email != nil)
	}
	df, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"CGO_ENABLED=0", "-tags nodev", "-trimpath", "-s -w", "gcr.io/distroless/static-debian12:nonroot", "USER nonroot", "/playbooks"} {
		if !bytes.Contains(df, []byte(w)) {
			t.Errorf("Dockerfile does not contain %q", w)
		}
	}
}

// TestComposeConfig runs `docker-compose config -q` (Debian's
// docker-compose package, which .ci/run installs) with .env.example's
// secrets set, with .env.example as it is, and with no env file at all:
// the file is valid in each case (TestSecretsRefused checks that nothing
// starts with a secret empty).
func TestComposeConfig(t *testing.T) {
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Skip("docker-compose is not installed (apt-get install docker-compose); the static checks above still ran")
	}
	run := func(envFile string, args ...string) (string, error) {
		cmd := exec.Command(bin, append([]string{"--env-file", envFile, "-f", composeFile, "config"}, args...)...)
		cmd.Env = append(os.Environ(), "COMPOSE_PROJECT_NAME=tend")
		for _, k := range append(slices.Collect(maps.Keys(readEnvExample(t))), "POSTGRES_PASSWORD") {
			cmd.Env = slices.DeleteFunc(cmd.Env, func(e string) bool { return strings.HasPrefix(e, k+"=") })
		}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	var env bytes.Buffer
	vars := filledEnv(t)
	for k, v := range vars {
		env.WriteString(envLine(k, v))
	}
	filled := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(filled, env.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := run(filled, "-q"); err != nil {
		t.Errorf("docker-compose config -q with .env.example's secrets set: %v\n%s", err, out)
	}
	// Quotes are not part of the value.
	if out, err := run(filled); err != nil || !strings.Contains(out, "TEND_MAIL_FROM: "+vars["TEND_MAIL_FROM"]+"\n") {
		t.Errorf("docker-compose config does not read TEND_MAIL_FROM as %q: %v\n%s", vars["TEND_MAIL_FROM"], err, out)
	}
	if out, err := run(envExample, "-q"); err != nil {
		t.Errorf("docker-compose config -q with .env.example as it is: %v\n%s", err, out)
	}
	empty := filepath.Join(t.TempDir(), "empty.env")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := run(empty, "-q"); err != nil {
		t.Errorf("docker-compose config -q with no variables set: %v\n%s", err, out)
	}
}

// TestSecretsRefused: .env.example leaves the secrets empty, and nothing
// starts so: tend refuses an empty {env:} value, naming it, and
// PostgreSQL an empty password (unless trust is set, which it must not be).
func TestSecretsRefused(t *testing.T) {
	for _, secret := range secrets {
		if secret == "POSTGRES_PASSWORD" {
			continue
		}
		t.Run(secret, func(t *testing.T) {
			for k, v := range filledEnv(t) {
				t.Setenv(k, v)
			}
			t.Setenv(secret, "")
			_, err := config.Load(tendYAML)
			if err == nil || !strings.Contains(err.Error(), "environment variable "+secret+" is empty") {
				t.Errorf("tend.yaml with %s empty: %v; want a refusal naming it", secret, err)
			}
		})
	}
	c, _ := load(t)
	pg := c.Services["postgresql"].Environment
	if pg["POSTGRES_PASSWORD"] != "${POSTGRES_PASSWORD:-}" || pg["POSTGRES_HOST_AUTH_METHOD"] != "" {
		t.Errorf("postgresql: POSTGRES_PASSWORD %q, POSTGRES_HOST_AUTH_METHOD %q; want the password from .env with no default, and no trust",
			pg["POSTGRES_PASSWORD"], pg["POSTGRES_HOST_AUTH_METHOD"])
	}
}
