package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cleval/cleval/internal/version"
	"github.com/cleval/cleval/metrics/dashboard"
	"github.com/cleval/cleval/metrics/store"
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "a live web dashboard of a database: runs, curves with the stability gap, comparisons",
		Description: "Serves the dashboard from the binary (nothing is fetched from elsewhere) and reads the database\n" +
			"read-only, beside the runs writing into it. It listens on 127.0.0.1 by default; from another machine,\n" +
			"forward the port over SSH (ssh -L 8080:127.0.0.1:8080 HOST) and open http://127.0.0.1:8080/.\n" +
			"A non-loopback --addr needs a token: --token, or one is generated and printed, and every request\n" +
			"must carry it. See docs/dashboard.md.",
		Flags: []cli.Flag{
			dbFlag(),
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8080", Usage: "listen on `HOST:PORT` (port 0: any free port)"},
			&cli.StringFlag{Name: "token", Usage: "require this `TOKEN` on every request (generated when --addr is not loopback)"},
		},
		Action: serveAction,
	}
}

func serveAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("serve takes no arguments, got %q", c.Args().Slice())
	}
	addr := c.String("addr")
	loop, err := dashboard.IsLoopback(addr)
	if err != nil {
		return usageError{err}
	}
	token := c.String("token")
	if c.IsSet("token") && len(token) < 8 {
		return usagef("--token: %d characters is too short to protect the dashboard (want 8 or more)", len(token))
	}
	generated := false
	if !loop && token == "" {
		token, generated = dashboard.NewToken(), true
	}
	db, err := openResultsConns(c.String("db"), 4)
	if err != nil {
		return err
	}
	defer db.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return usagef("--addr %s: %v", addr, err)
	}
	srv := &http.Server{
		Handler:           dashboard.New(db, dashboard.Options{Token: token, Version: version.Version, Log: log.New(c.App.ErrWriter, "cleval serve: ", log.LstdFlags)}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	host := ln.Addr().String()
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		if h, err := os.Hostname(); err == nil {
			host = net.JoinHostPort(h, fmt.Sprint(tcp.Port))
		}
	}
	url := "http://" + host + "/"
	if token != "" {
		url += "?token=" + token
	}
	ew := c.App.ErrWriter
	fmt.Fprintf(ew, "cleval serve: %s read-only at %s\n", db.Path(), url)
	if generated {
		fmt.Fprintf(ew, "cleval serve: %s is not a loopback address: every request needs the token above (generated; set your own with --token)\n", addr)
	}
	if !loop {
		fmt.Fprintf(ew, "cleval serve: the connection is plain HTTP: on an untrusted network prefer the default 127.0.0.1 and an SSH port-forward\n")
	}
	if db.Immutable() {
		fmt.Fprintf(ew, "cleval serve: %s is on a read-only mount or in a directory you cannot write, so it is read as it is now (SQLite immutable): changes made to it later are not shown; restart cleval serve to see them\n", db.Path())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// openResultsConns opens a database read-only with several connections
// (parallel readers), with errors that say what to do.
func openResultsConns(path string, conns int) (*store.DB, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, usagef("database %s does not exist (store runs in it with: cleval run --db %s)", path, path)
	}
	db, err := store.Open(path, store.Options{ReadOnly: true, Conns: conns})
	if err != nil {
		if errors.Is(err, store.ErrNotDatabase) {
			return nil, usagef("%s is not a cleval database (empty or not SQLite): %v", path, err)
		}
		return nil, usageError{err}
	}
	return db, nil
}
