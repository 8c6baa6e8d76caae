package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/drafterhq/drafter/server"
)

// ServeCommand runs the schedule and the admin API until SIGTERM.
type ServeCommand struct{ common }

// Run implements command.
func (c *ServeCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("serve", "serve [--admin-addr HOST:PORT] [--no-schedule] [--worker-only]\n\n"+
		"Runs the schedule (a cron spec per job in DRAFTER_ZONE, missed business\n"+
		"dates caught up, a job never overlapping itself) and the admin API:\n"+
		"/healthz, /readyz, /metrics, /api/v1/runs; until SIGTERM, which lets the\n"+
		"current chunk finish (DRAFTER_SHUTDOWN_GRACE).")
	c.register(fs)
	addr := fs.String("admin-addr", "", "admin API listen address (DRAFTER_ADMIN_ADDR, default 127.0.0.1:8080)")
	noSchedule := fs.Bool("no-schedule", false, "serve the admin API only; fire no job")
	chunkPoll := fs.Duration("chunk-poll", 2*time.Second, "how often this replica looks for running runs with chunks to claim")
	workerOnly := fs.Bool("worker-only", false, "never schedule (no scheduler lock): work the chunks of running runs (PostgreSQL replicas)")
	tlsCert := fs.String("tls-cert", "", "serve the admin API and the console over TLS with this certificate (PEM); needs --tls-key")
	tlsKey := fs.String("tls-key", "", "the private key (PEM) of --tls-cert")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	a, err := c.open(ctx, false)
	if err != nil {
		return err
	}
	defer a.close()
	if *addr == "" {
		*addr = a.cfg.AdminAddr
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return usageErrorf("--tls-cert and --tls-key go together")
	}
	if err := server.CheckListen(*addr, a.cfg.AdminToken); err != nil {
		return err
	}
	reg := registry()
	entries, err := server.EntriesFromConfig(a.cfg, reg)
	if err != nil {
		return err
	}
	for job, spec := range a.cfg.Schedule {
		if _, ok := reg[job]; !ok && spec != "off" {
			a.log.Warn().Str("job", job).Msg("scheduled job is not in this binary: not scheduled")
		}
	}
	if *workerOnly && a.store.Dialect() != "postgres" {
		return fmt.Errorf("--worker-only needs PostgreSQL (DRAFTER_DATABASE_URL): SQLite is served by one process, which works its chunks itself")
	}
	if a.store.Dialect() == "sqlite" {
		// SQLite has one writer: one drafter serve per database. PostgreSQL
		// serves any number of replicas (advisory locks elect one scheduler).
		path := strings.TrimPrefix(a.cfg.DatabaseURL, "sqlite:")
		path, _, _ = strings.Cut(path, "?")
		unlock, err := server.FileLock(filepath.Clean(path) + ".serve.lock")
		if errors.Is(err, server.ErrLocked) {
			return fmt.Errorf("another drafter serve runs on this SQLite database (%s): SQLite is served by one process; use PostgreSQL (DRAFTER_DATABASE_URL) for replicas", path)
		}
		if err != nil {
			return err
		}
		defer unlock()
	}

	env := a.env()
	env.Progress = progressLog(a.log, 30*time.Second)
	locker := server.LockerFor(a.store)
	metrics := server.NewMetrics(a.store, a.cfg.Zone, a.log)
	server.RegisterChunkMetrics(metrics, a.store, a.log)
	sched := server.NewScheduler(env, reg, entries)
	server.RegisterScheduleMetrics(metrics, sched)
	sched.Locker, sched.Observe = locker, metrics.ObserveRun
	admin := server.NewAdmin(env, reg, locker, metrics)
	// The console shows the schedule's fire times whichever replica fires.
	admin.Schedule = sched
	runCtx, cancelRuns := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRuns()
	admin.RunContext = runCtx

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("admin API on %s (DRAFTER_ADMIN_ADDR): %w", *addr, err)
	}
	admin.Addr = *addr
	if _, port, _ := net.SplitHostPort(*addr); port == "0" {
		admin.Addr = ln.Addr().String()
	}
	srv := admin.Server()
	go func() {
		serve := func() error { return srv.Serve(server.LimitListener(ln, server.MaxConns)) }
		if *tlsCert != "" {
			serve = func() error { return srv.ServeTLS(server.LimitListener(ln, server.MaxConns), *tlsCert, *tlsKey) }
		}
		if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error().Err(err).Msg("admin API")
		}
	}()
	auth := "bearer token"
	if a.cfg.AdminToken == "" {
		auth = "no token (loopback only, read-only)"
	}
	a.log.Info().Str("addr", ln.Addr().String()).Str("auth", auth).Bool("tls", *tlsCert != "").Str("console", "/").Msg("admin API listening")
	for _, e := range entries {
		a.log.Info().Str("job", e.Job).Str("spec", e.Spec).Bool("banking_days", e.BankingDays).Bool("intraday", e.Intraday).
			Str("zone", a.cfg.Zone.String()).Msg("scheduled")
	}

	workerDone := make(chan error, 1)
	worker := server.NewChunkWorker(env, reg)
	worker.Poll = *chunkPoll
	go func() { workerDone <- worker.Run(ctx, runCtx) }()
	schedDone := make(chan error, 1)
	if *noSchedule || *workerOnly {
		schedDone <- nil
	} else {
		go func() { schedDone <- sched.Run(ctx) }()
	}
	<-ctx.Done()
	a.log.Info().Dur("grace_ms", a.cfg.ShutdownGrace).Msg("shutting down: no new runs; running jobs may finish their chunk")
	stopRuns := time.AfterFunc(a.cfg.ShutdownGrace, cancelRuns)
	defer stopRuns.Stop()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	err = <-schedDone
	admin.Wait()
	<-workerDone
	a.log.Info().Msg("stopped")
	return err
}
