// Package devserver runs a Temporal server in-process on a SQLite file, with the Temporal
// Web UI beside it, for `tend dev` and for integration tests. It is the only package that
// imports go.temporal.io/server, so only cmd/ and integration tests may import it.
package devserver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	"go.temporal.io/server/common/searchattribute/sadefs"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

const (
	clusterName  = "active"
	readyTimeout = 30 * time.Second
)

// Options configures an embedded server.
type Options struct {
	// DBFile is the SQLite file; "" keeps everything in memory. A missing parent directory is created.
	// The file is in WAL mode (see filePragmas): its recent commits may be in DBFile-wal beside it,
	// so copy or remove the two together. The visibility records (what lists and searches
	// read) go to a second file beside it, VisibilityFile(DBFile), so that their writes do not
	// queue behind those of the workflows: SQLite takes one writer per file. A DBFile made
	// before that, with its visibility records inside, keeps them there.
	DBFile string
	// IP is the address the frontend and the UI listen on; default "127.0.0.1".
	IP string
	// Port is the frontend gRPC port; 0 picks a free one.
	Port int
	// UIPort is the Web UI port; 0 runs no UI.
	UIPort int
	// UICodecEndpoint, if set, is the codec server the Web UI decodes
	// payloads with (the browser posts to it), such as
	// http://127.0.0.1:8080/codec/dev.
	UICodecEndpoint string
	// Namespace is created at start if missing; default "default".
	Namespace string
	// Retention is how long closed workflows are kept, set when the
	// namespace is created; default 30 days, so finished runs stay in the UI.
	Retention time.Duration
	// SearchAttributes are registered on the namespace at every start, also on an existing DB file.
	SearchAttributes map[string]enums.IndexedValueType
	// Logger receives the server's logs; the zero value discards them.
	Logger zerolog.Logger
	// LogLevel is the lowest level of server logs passed to Logger, which filters them
	// again at its own level. The zero value (zerolog.DebugLevel) means
	// zerolog.WarnLevel; use zerolog.TraceLevel to see debug logs. Routine warnings
	// (see routine) are passed at debug level whatever LogLevel is.
	LogLevel zerolog.Level

	// sqliteDefaults leaves a DBFile on SQLite's own settings (rollback journal,
	// synchronous=FULL) instead of filePragmas; for measuring the difference only.
	sqliteDefaults bool
	// oneFile keeps the visibility records in DBFile with every index of the
	// schema, as before VisibilityFile; for measuring the difference only.
	oneFile bool
}

// Server is a running embedded Temporal server (and UI).
type Server struct {
	opts     Options
	addr     string
	uiAddr   string
	sql      *config.SQL
	temporal temporal.Server
	ui       *uiserver.Server
	log      zerolog.Logger
	muted    atomic.Bool
	stopOnce sync.Once
}

var searchAttributeName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (o Options) withDefaults() (Options, error) {
	if o.IP == "" {
		o.IP = "127.0.0.1"
	}
	if net.ParseIP(o.IP) == nil {
		return o, fmt.Errorf("ip %q is not an ip address", o.IP)
	}
	if o.Port < 0 || o.Port > 65535 {
		return o, fmt.Errorf("port %d is out of range 0-65535", o.Port)
	}
	if o.UIPort < 0 || o.UIPort > 65535 {
		return o, fmt.Errorf("ui port %d is out of range 0-65535", o.UIPort)
	}
	if o.Port != 0 && o.Port == o.UIPort {
		return o, fmt.Errorf("port and ui port are both %d", o.Port)
	}
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	if o.Retention == 0 {
		o.Retention = 30 * 24 * time.Hour
	}
	if o.Retention < time.Hour {
		return o, fmt.Errorf("retention %s is under an hour", o.Retention)
	}
	if strings.ContainsFunc(o.Namespace, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return o, fmt.Errorf("namespace %q contains whitespace or control characters", o.Namespace)
	}
	if strings.ContainsAny(o.DBFile, "?#") {
		return o, fmt.Errorf("db file %q contains ? or #", o.DBFile)
	}
	if o.LogLevel == zerolog.DebugLevel {
		o.LogLevel = zerolog.WarnLevel
	}
	if o.LogLevel < zerolog.TraceLevel || o.LogLevel > zerolog.Disabled {
		return o, fmt.Errorf("log level %d is out of range", o.LogLevel)
	}
	return o, validateSearchAttributes(o.SearchAttributes)
}

func validateSearchAttributes(attrs map[string]enums.IndexedValueType) error {
	free := map[enums.IndexedValueType]int{}
	for field, typ := range sadefs.GetDBIndexSearchAttributes(nil).CustomSearchAttributes {
		if sadefs.IsPreallocatedCSAFieldName(field, typ) {
			free[typ]++
		}
	}
	used := map[enums.IndexedValueType]int{}
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		typ := attrs[name]
		switch {
		case !searchAttributeName.MatchString(name):
			return fmt.Errorf("search attribute %q: name must be letters, digits and underscores", name)
		case sadefs.IsReserved(name):
			return fmt.Errorf("search attribute %q is reserved by temporal", name)
		case typ == enums.INDEXED_VALUE_TYPE_UNSPECIFIED:
			return fmt.Errorf("search attribute %q has no type", name)
		case enums.IndexedValueType_name[int32(typ)] == "":
			return fmt.Errorf("search attribute %q has unknown type %d", name, typ)
		}
		used[typ]++
		if used[typ] > free[typ] {
			return fmt.Errorf("search attribute %q: at most %d attributes of type %s", name, free[typ], typ)
		}
	}
	return nil
}

// Start validates opts, starts the server (and the UI if UIPort is set) and returns once
// the frontend answers for the namespace.
func Start(opts Options) (*Server, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts: opts,
		log:  opts.Logger.Level(opts.LogLevel).With().Str("component", "temporal").Logger(),
	}

	if opts.Port == 0 {
		if opts.Port, err = internalPort(opts.IP, []int{opts.UIPort}); err != nil {
			return nil, fmt.Errorf("find a free frontend port: %w", err)
		}
	} else if err := checkPort(opts.IP, opts.Port); err != nil {
		return nil, portError("frontend port", opts.Port, "--port", err)
	}
	if opts.UIPort != 0 {
		if err := checkPort(opts.IP, opts.UIPort); err != nil {
			return nil, portError("ui port", opts.UIPort, "--ui-port", err)
		}
	}
	s.addr = net.JoinHostPort(dialHost(opts.IP), strconv.Itoa(opts.Port))

	sqlConf, visConf, err := prepareDB(opts)
	if err != nil {
		return nil, err
	}
	s.sql = sqlConf
	conf, err := serverConfig(opts, s.addr, sqlConf, visConf)
	if err != nil {
		return nil, err
	}
	if err := s.startTemporal(conf); err != nil {
		return nil, err
	}
	if err := s.waitReady(); err != nil {
		s.Stop()
		return nil, err
	}
	if opts.UIPort != 0 {
		if err := s.startUI(); err != nil {
			s.Stop()
			return nil, err
		}
	}
	return s, nil
}

func (s *Server) startTemporal(conf *config.Config) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("start temporal server: panic: %v", r)
		}
	}()
	dyn := dynamicconfig.StaticClient{
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
	}
	hosts := map[primitives.ServiceName]static.Hosts{}
	for name, svc := range conf.Services {
		host := net.JoinHostPort("127.0.0.1", strconv.Itoa(svc.RPC.GRPCPort))
		if name == string(primitives.FrontendService) {
			host = s.addr
		}
		hosts[primitives.ServiceName(name)] = static.SingleLocalHost(host)
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(serverLogger{s.opts.Logger.With().Str("component", "temporal").Logger(), s.opts.LogLevel, &s.muted}),
		temporal.WithAuthorizer(authorization.NewNoopAuthorizer()),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper {
			return authorization.NewNoopClaimMapper()
		}),
		temporal.WithDynamicConfigClient(dyn),
	)
	if err != nil {
		return fmt.Errorf("create temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return fmt.Errorf("start temporal server: %w", err)
	}
	s.temporal = srv
	return nil
}

// filePragmas tune a DBFile. Temporal commits a transaction for every event it records
// (a signal, a timer, a task completion), and SQLite's defaults (a rollback journal with
// synchronous=FULL) pay several fsyncs for each: ingestion latency is that of the disk.
//
//   - journal_mode=wal appends each commit to DBFile-wal beside the file and copies
//     it into the file at checkpoints; readers no longer block the writer.
//   - synchronous=normal then fsyncs the WAL only at checkpoints, not at every commit.
//   - busy_timeout makes a write that finds the file locked by another process (say, the
//     sqlite3 shell) wait up to 5 s instead of failing at once.
//
// The durability trade-off: a process crash, kill -9 included, loses nothing, since every
// commit is in the WAL file, and the operating system writes it out. A power loss or
// kernel crash may lose the last transactions committed since the latest checkpoint, but
// never corrupts the database: it opens at an earlier consistent state. That is right for
// a development server; a production cluster runs on another store.
//
// The sqlite plugin passes every ConnectAttribute that is not a URI parameter (mode,
// cache, ...) as a _pragma to modernc.org/sqlite, which runs it on each new connection
// (busy_timeout first). WAL mode is persistent: it stays recorded in the file. The plugin
// keeps one connection (MaxConns 1); more would need WAL but could fail deferred
// transactions with SQLITE_BUSY where one writer upgrades while another writes.
// WAL needs shared memory, so the file must not be on a network file system.
var filePragmas = map[string]string{
	"journal_mode": "wal",
	"synchronous":  "normal",
	"busy_timeout": "5000",
}

// prepareDB creates the schema in a new SQLite file and the namespace and its search
// attributes where missing.
func prepareDB(opts Options) (conf, vis *config.SQL, err error) {
	conf, existed, err := prepareMainDB(opts)
	if err != nil || opts.DBFile == "" || opts.oneFile {
		return conf, conf, err
	}
	vis = &config.SQL{PluginName: conf.PluginName, ConnectAttributes: maps.Clone(conf.ConnectAttributes),
		DatabaseName: VisibilityFile(conf.DatabaseName)}
	if _, err := os.Stat(vis.DatabaseName); err == nil {
		return conf, vis, makePrivate(vis.DatabaseName)
	}
	if existed {
		// An older state directory: its visibility records are in the main file.
		return conf, conf, nil
	}
	if err := createPrivate(vis.DatabaseName); err != nil {
		return nil, nil, err
	}
	if err := sqliteschema.SetupSchema(vis); err != nil {
		_ = os.Remove(vis.DatabaseName)
		return nil, nil, fmt.Errorf("create schema in %s: %w", vis.DatabaseName, err)
	}
	if err := dropUnusedIndexes(vis.DatabaseName); err != nil {
		_ = os.Remove(vis.DatabaseName)
		return nil, nil, fmt.Errorf("tune %s: %w", vis.DatabaseName, err)
	}
	return conf, vis, nil
}

// unusedIndexes are visibility indexes that nothing tend or the Web UI does
// uses well enough to pay for: every start, search-attribute upsert and
// close of a workflow writes each of the 58 indexes of the schema, which
// made visibility writes the embedded server's largest cost (about 4 ms of
// CPU each, most of it index pages written to the WAL). Lists by type,
// status, id and the Tend* keywords keep theirs; a query on the others
// scans, which is fine at a development server's scale.
var unusedIndexes = []string{
	"by_execution_time", "by_history_length", "by_history_size_bytes", "by_execution_duration",
	"by_state_transition_count", "by_task_queue", "by_parent_workflow_id", "by_parent_run_id",
	"by_root_workflow_id", "by_root_run_id", "by_batcher_user", "by_temporal_scheduled_start_time",
	"by_temporal_scheduled_by_id", "by_temporal_schedule_paused", "by_temporal_namespace_division",
	"by_temporal_pause_info", "by_temporal_worker_deployment_version",
	"by_temporal_workflow_versioning_behavior", "by_temporal_worker_deployment",
	"by_bool_01", "by_bool_02", "by_bool_03", "by_datetime_01", "by_datetime_02", "by_datetime_03",
	"by_double_01", "by_double_02", "by_double_03", "by_int_01", "by_int_02", "by_int_03",
	"by_temporal_bool_01", "by_temporal_bool_02", "by_temporal_datetime_01", "by_temporal_datetime_02",
	"by_temporal_double_01", "by_temporal_double_02", "by_temporal_int_01", "by_temporal_int_02",
	"by_temporal_keyword_01", "by_temporal_keyword_02", "by_temporal_keyword_03", "by_temporal_keyword_04",
	"by_temporal_low_cardinality_keyword_01",
}

// dropUnusedIndexes drops unusedIndexes from a new visibility file, with
// the modernc.org/sqlite driver that the server's sqlite plugin registers.
func dropUnusedIndexes(file string) error {
	db, err := sql.Open("sqlite", "file:"+file+"?mode=rw")
	if err != nil {
		return err
	}
	defer db.Close()
	for _, name := range unusedIndexes {
		if _, err := db.Exec("DROP INDEX IF EXISTS " + name); err != nil {
			return fmt.Errorf("drop index %s: %w", name, err)
		}
	}
	return nil
}

// createPrivate creates an empty file readable by its owner only (0600)
// where there is none, before SQLite opens it: SQLite gives the -wal and
// -shm files it makes beside a database the database file's mode, so the
// whole store stays private. The store holds every customer's history.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create db file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("create db file: %w", err)
	}
	return makePrivate(path)
}

// makePrivate tightens a database file made before tend did so, and its
// -wal and -shm files, to 0600; a file already private is left alone.
func makePrivate(path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("db file: %w", err)
		}
		if fi.Mode().Perm() == 0o600 {
			continue
		}
		if err := os.Chmod(p, 0o600); err != nil {
			return fmt.Errorf("make %s readable by its owner only (0600): %w", p, err)
		}
	}
	return nil
}

// VisibilityFile is the SQLite file of the visibility records beside dbFile:
// temporal.db → temporal-visibility.db.
func VisibilityFile(dbFile string) string {
	ext := filepath.Ext(dbFile)
	return strings.TrimSuffix(dbFile, ext) + "-visibility" + ext
}

func prepareMainDB(opts Options) (conf *config.SQL, existed bool, err error) {
	conf = &config.SQL{PluginName: sqliteplugin.PluginName, ConnectAttributes: map[string]string{}}
	if opts.DBFile == "" {
		conf.ConnectAttributes["mode"] = "memory"
		conf.ConnectAttributes["cache"] = "shared"
		conf.DatabaseName = fmt.Sprintf("tend-%d", rand.Uint64())
	} else {
		path, err := filepath.Abs(opts.DBFile)
		if err != nil {
			return nil, false, fmt.Errorf("db file %s: %w", opts.DBFile, err)
		}
		conf.ConnectAttributes["mode"] = "rwc"
		if !opts.sqliteDefaults {
			maps.Copy(conf.ConnectAttributes, filePragmas)
		}
		conf.DatabaseName = path
		fi, err := os.Stat(path)
		switch {
		case err == nil && fi.IsDir():
			return nil, false, fmt.Errorf("db file %s is a directory", path)
		case err == nil && fi.Size() > 0:
			existed = true
		case err == nil || errors.Is(err, os.ErrNotExist):
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return nil, false, fmt.Errorf("create db directory: %w", err)
			}
			if err := createPrivate(path); err != nil {
				return nil, false, err
			}
			if err := sqliteschema.SetupSchema(conf); err != nil {
				_ = os.Remove(path)
				return nil, false, fmt.Errorf("create schema in %s: %w", path, err)
			}
		default:
			return nil, false, fmt.Errorf("db file: %w", err)
		}
		if err := makePrivate(path); err != nil {
			return nil, false, err
		}
	}
	if err := prepareNamespace(conf, opts.Namespace, opts.Retention, opts.SearchAttributes); err != nil {
		return nil, false, fmt.Errorf("namespace %s: %w", opts.Namespace, err)
	}
	return conf, existed, nil
}

func serverConfig(opts Options, frontend string, sqlConf, visConf *config.SQL) (*config.Config, error) {
	conf := &config.Config{}
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = "127.0.0.1"
	conf.Persistence = config.Persistence{
		DefaultStore:     "sqlite",
		VisibilityStore:  "sqlite",
		NumHistoryShards: 1,
		DataStores:       map[string]config.DataStore{"sqlite": {SQL: sqlConf}},
	}
	if visConf != sqlConf {
		conf.Persistence.VisibilityStore = "sqlite-visibility"
		conf.Persistence.DataStores["sqlite-visibility"] = config.DataStore{SQL: visConf}
	}
	conf.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {Enabled: true, InitialFailoverVersion: 1, RPCAddress: frontend},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = map[string]config.Service{
		string(primitives.FrontendService): {RPC: config.RPC{GRPCPort: opts.Port, BindOnIP: opts.IP}},
	}
	taken := []int{opts.Port, opts.UIPort}
	for _, name := range []primitives.ServiceName{primitives.HistoryService, primitives.MatchingService, primitives.WorkerService} {
		port, err := internalPort("127.0.0.1", taken)
		taken = append(taken, port)
		if err != nil {
			return nil, fmt.Errorf("find a free port for the %s service: %w", name, err)
		}
		conf.Services[string(name)] = config.Service{RPC: config.RPC{GRPCPort: port, BindOnIP: "127.0.0.1"}}
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = frontend
	return conf, nil
}

// waitReady waits until the frontend answers for the namespace.
func (s *Server) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{
		HostPort:  s.addr,
		Namespace: s.opts.Namespace,
		Logger:    sdkLogger{s.log},
	})
	if err != nil {
		return fmt.Errorf("connect to frontend %s: %w", s.addr, err)
	}
	defer c.Close()
	err = poll(ctx, func() error {
		_, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: s.opts.Namespace})
		return err
	})
	if err != nil {
		return fmt.Errorf("wait for namespace %s: %w", s.opts.Namespace, err)
	}
	return nil
}

func (s *Server) startUI() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("start ui: panic: %v", r)
		}
	}()
	host := s.opts.IP
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	s.ui = uiserver.NewServer(uioptions.WithConfigProvider(&uiconfig.Config{
		Host:                host,
		Port:                s.opts.UIPort,
		TemporalGRPCAddress: s.addr,
		EnableUI:            true,
		DefaultNamespace:    s.opts.Namespace,
		CORS:                uiconfig.CORS{CookieInsecure: true},
		Codec:               uiconfig.Codec{Endpoint: s.opts.UICodecEndpoint},
		HideLogs:            true,
		DisableNewsFetch:    true,
	}))
	go func() {
		// The UI server exits the process itself if it cannot listen; checkPort in Start
		// makes that unlikely.
		if err := s.ui.Start(); err != nil {
			s.log.Error().Err(err).Msg("ui server stopped")
		}
	}()
	s.uiAddr = "http://" + net.JoinHostPort(dialHost(s.opts.IP), strconv.Itoa(s.opts.UIPort))
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	addr := strings.TrimPrefix(s.uiAddr, "http://")
	if err := poll(ctx, func() error {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = conn.Close()
		}
		return err
	}); err != nil {
		return fmt.Errorf("wait for ui at %s: %w", s.uiAddr, err)
	}
	return nil
}

// Address returns the host:port of the frontend, for client.Dial.
func (s *Server) Address() string { return s.addr }

// UIAddress returns the Web UI's URL, such as "http://127.0.0.1:8233", or "" without a UI.
func (s *Server) UIAddress() string { return s.uiAddr }

// Namespace returns the namespace the server was started with.
func (s *Server) Namespace() string { return s.opts.Namespace }

// Stop stops the UI and the server. It is safe to call more than once. The server's logs
// end when Stop begins.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		s.muted.Store(true)
		if s.ui != nil {
			s.ui.Stop()
		}
		if err := s.temporal.Stop(); err != nil {
			s.log.Error().Err(err).Msg("stop temporal server")
		}
	})
}

// poll calls f until it succeeds or ctx ends, and then returns f's last error.
func poll(ctx context.Context, f func() error) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-tick.C:
		}
	}
}

// dialHost is the host clients use to reach a server listening on ip.
func dialHost(ip string) string {
	switch parsed := net.ParseIP(ip); {
	case parsed.Equal(net.IPv4zero):
		return "127.0.0.1"
	case parsed.Equal(net.IPv6unspecified):
		return "::1"
	}
	return ip
}

func checkPort(ip string, port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return l.Close()
}

// Internal ports are drawn from below the kernel's ephemeral range
// (32768-60999 on Linux), where a port found free stays free: a port the
// kernel hands out for :0 is also one it hands out to outgoing
// connections, which could take it between the check and the server's
// bind, and the server then panics instead of returning an error.
const (
	internalLow  = 20000
	internalHigh = 32768
)

// internalPort is a port of ip in [internalLow, internalHigh) that is not
// in taken and that nothing listens on now, chosen at random so that
// servers starting at once (tests) do not pick the same one; after 100
// tries it falls back to freePort.
func internalPort(ip string, taken []int) (int, error) {
	for range 100 {
		port := internalLow + rand.IntN(internalHigh-internalLow)
		if slices.Contains(taken, port) {
			continue
		}
		if checkPort(ip, port) == nil {
			return port, nil
		}
	}
	return freePort(ip)
}

func freePort(ip string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func portError(what string, port int, flag string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%s %d is in use; pass %s", what, port, flag)
	}
	return fmt.Errorf("%s %d: %w", what, port, err)
}
