package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/autoid-oss/autoid/pipeline"
	"github.com/autoid-oss/autoid/server"
	"github.com/autoid-oss/autoid/stages"
	"github.com/autoid-oss/autoid/store"
	"github.com/autoid-oss/autoid/workspace"
)

func newServeCmd(g *globals) *cobra.Command {
	var addr, tenant string
	var shutdown time.Duration
	c := &cobra.Command{
		Use:   "serve [--addr HOST:PORT]",
		Short: "Serve the REST API over the serving store",
		Long: `serve answers the REST API (the reference's paths, methods and shapes) over
the serving store: --database-url (or DATABASE_URL) names a PostgreSQL server,
else the embedded store <workspace>/serving.db is used.

At the first start the store has no users: AUTOID_ADMIN_USER and
AUTOID_ADMIN_PASSWORD (at least 8 characters) create the first administrator.
Without them the server refuses to start. There is no default password.

Jobs run in this process: job definitions with a schedule are triggered at
their times; runs left running by a stopped process are marked failed at start.

Access logs are JSON lines on stderr. SIGTERM or Ctrl-C stops accepting
connections and waits up to --shutdown-timeout for requests in flight; runs
still executing are then cancelled.

Environment: AUTOID_TENANT_ID (the deployment's tenant; requests naming another
tenant in x-tenant-id are refused), AUTOID_OIDC_ISSUER, AUTOID_OIDC_CLIENT_ID,
AUTOID_OIDC_CLIENT_SECRET, AUTOID_OIDC_REDIRECT_URL (single sign-on; without
them /api/sso/* answers that SSO is not configured).`,
		Example: `  AUTOID_ADMIN_USER=admin@example.com AUTOID_ADMIN_PASSWORD=... autoid serve --addr 127.0.0.1:8080`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			log := slog.New(slog.NewJSONHandler(g.stderr, nil))
			db, err := store.Open(ctx, store.DSN(g.databaseURL), g.workspace, log)
			if err != nil {
				return err
			}
			defer db.Close()
			created, err := server.EnsureAdmin(ctx, db, os.Getenv("AUTOID_ADMIN_USER"), os.Getenv("AUTOID_ADMIN_PASSWORD"), server.Argon2Params{})
			if err != nil {
				return fmt.Errorf("refusing to start: %w", err)
			}
			if created {
				log.Info("created the first administrator", "user", os.Getenv("AUTOID_ADMIN_USER"))
			}
			ws, err := workspace.Open(g.workspace)
			if err != nil {
				return err
			}
			if err := stages.WriteDefaultConfig(ws.ConfigPath()); err != nil {
				return err
			}
			rn, err := pipeline.NewRunner(pipeline.RunnerConfig{Workspace: ws, Store: db, DatabaseURL: g.databaseURL, Logger: log})
			if err != nil {
				return err
			}
			defer rn.Close()
			if failed, err := rn.Recover(ctx); err != nil {
				return err
			} else if len(failed) > 0 {
				log.Warn("runs left by a stopped process were failed", "runs", failed)
			}
			schedCtx, stopSched := context.WithCancel(ctx)
			defer stopSched()
			go pipeline.NewScheduler(rn, log).Run(schedCtx)
			cfg := server.Config{Store: db, WorkspaceDir: ws.Root, Logger: log, TenantID: tenant, Runner: rn}
			if iss := os.Getenv("AUTOID_OIDC_ISSUER"); iss != "" {
				cfg.OIDC = &server.OIDCConfig{Issuer: iss, ClientID: os.Getenv("AUTOID_OIDC_CLIENT_ID"),
					ClientSecret: os.Getenv("AUTOID_OIDC_CLIENT_SECRET"), RedirectURL: os.Getenv("AUTOID_OIDC_REDIRECT_URL")}
			}
			srv, err := server.New(cfg)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			return serveHTTP(ctx, ln, srv.Handler(), srv.Close, log, shutdown)
		},
	}
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on")
	c.Flags().StringVar(&tenant, "tenant-id", os.Getenv("AUTOID_TENANT_ID"), "the deployment's tenant id (env AUTOID_TENANT_ID)")
	c.Flags().DurationVar(&shutdown, "shutdown-timeout", 30*time.Second, "how long to wait for requests in flight when stopping")
	return c
}

// serveHTTP serves until ctx ends (SIGTERM, Ctrl-C), then shuts down
// gracefully.
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, onShutdown func(), log *slog.Logger, grace time.Duration) error {
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      5 * time.Minute, // log streams extend their own deadline
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	hs.RegisterOnShutdown(onShutdown)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", grace.String())
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}
