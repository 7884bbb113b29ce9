// Command cometbench measures Comet side by side with peers (the floor: one
// write(2) per subscriber per message from one thread; a
// goroutine-per-connection gorilla/websocket baseline; nchan; Centrifugo)
// using one load generator, and clusters of each on Redis behind nginx. See
// docs/BENCHMARKS.md.
//
//	cometbench -targets comet,floor,nchan -scenarios broadcast,room -pin
//	cometbench -targets comet,baseline -scenarios idle,broadcast
//	cometbench -target comet=127.0.0.1:8080 -scenarios broadcast
//	cometbench -targets comet-cluster,centrifugo-cluster -scenarios broadcast,room -broadcast-subs 10000
//	cometbench render results/20260101-120000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/comet-im/comet/bench"
	"github.com/comet-im/comet/bench/baseline"
	"github.com/comet-im/comet/bench/floor"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "worker": // hidden: a client process driven over stdin/stdout
			if err := bench.ServeWorker(os.Stdin, os.Stdout); err != nil {
				fmt.Fprintln(os.Stderr, "cometbench worker:", err)
				os.Exit(1)
			}
			return
		case "serve-baseline": // hidden: the gorilla/websocket peer
			serveBaseline(os.Args[2:])
			return
		case "serve-floor": // hidden: the one-write-per-message floor
			serveFloor(os.Args[2:])
			return
		case "render": // re-render charts, table and ratios of a results folder
			res, err := bench.Render(os.Args[2])
			fatal(err)
			bench.WriteTable(os.Stdout, res)
			bench.WriteRatios(os.Stdout, res, bench.RefTarget(res))
			return
		}
	}
	var (
		cfg       bench.Config
		o         bench.TargetOptions
		targets   = flag.String("targets", "comet,floor,baseline,nchan,centrifugo", "targets to run, comma separated (peers not installed are skipped with a note); clusters on Redis behind nginx: comet-cluster, centrifugo-cluster, nchan-cluster")
		external  = flag.String("target", "", "use a running server instead: name=host:port (Comet protocol)")
		scenarios = flag.String("scenarios", "connect,idle,broadcast,throughput,room,churn,idle-sse,broadcast-sse,idle-poll,broadcast-poll", "scenarios: "+strings.Join(bench.Scenarios, ","))
		out       = flag.String("out", "", "results folder (default results/<timestamp>)")
		pin       = flag.Bool("pin", false, "pin the server to CPU 1, and the clients and publishers (this process) to CPU 0, with taskset")
	)
	flag.StringVar(&o.CometBin, "comet-bin", "bin/comet", "Comet binary")
	flag.BoolVar(&o.CometSubMessage, "comet-sub-message", false, "Comet's WebSockets subscribe with a message after the upgrade, not in its URL (binaries from before /ws?ch=, for before/after runs)")
	flag.StringVar(&o.CentrifugoBin, "centrifugo-bin", bench.DefaultCentrifugoBin(), "Centrifugo v5 binary (bench/peers/install.sh builds it)")
	flag.StringVar(&o.NginxBin, "nginx-bin", "nginx", "nginx binary with the nchan module")
	flag.StringVar(&o.APIKey, "api-key", "bench-key", "publish API key given to the targets")
	flag.IntVar(&o.Workers, "server-threads", 0, "event loops / GOMAXPROCS / nginx workers for every target (0 = CPUs available)")
	flag.IntVar(&o.HistorySize, "history", 100, "messages of history per channel (Comet, nchan, Centrifugo)")
	flag.IntVar(&o.Cluster.Nodes, "cluster-nodes", 2, "cluster targets: server processes behind the proxy")
	flag.StringVar(&o.Cluster.RedisFsync, "redis-fsync", "everysec", "cluster targets: Redis appendfsync (always, everysec; empty: no AOF)")
	flag.StringVar(&o.Cluster.RedisBin, "redis-bin", "", "cluster targets: redis-server binary (default /usr/bin/redis-server or PATH)")
	flag.StringVar(&o.Cluster.CometNginxConf, "nginx-conf", "deploy/nginx/comet.conf", "comet-cluster: the shipped nginx config it runs behind")
	flag.IntVar(&cfg.ConnsPerWorker, "conns-per-worker", 5000, "client sockets per worker process (<= 19,900)")
	flag.IntVar(&cfg.PayloadSize, "payload", 64, "published message size in bytes")
	flag.IntVar(&cfg.ConnectConns, "connect-conns", 5000, "connect: connections")
	flag.IntVar(&cfg.IdleConns, "idle-conns", 10000, "idle: connections held")
	flag.DurationVar(&cfg.IdleHold, "idle-hold", 10*time.Second, "idle: measurement window")
	flag.IntVar(&cfg.IdleChannels, "idle-channels", 0, "idle: channels the connections share (0: one each, a personal inbox)")
	subs := flag.String("broadcast-subs", "2000", "broadcast: subscribers on one channel; a comma list runs a sweep")
	flag.IntVar(&cfg.BroadcastMsgs, "broadcast-msgs", 200, "broadcast: messages")
	flag.IntVar(&cfg.BroadcastRate, "broadcast-rate", 20, "broadcast: messages per second")
	flag.IntVar(&cfg.ThroughputChannels, "tp-channels", 500, "throughput: channels")
	flag.IntVar(&cfg.ThroughputSubs, "tp-subs", 4, "throughput: subscribers per channel")
	flag.IntVar(&cfg.ThroughputPubs, "tp-publishers", 16, "throughput: concurrent HTTP publishers")
	flag.DurationVar(&cfg.ThroughputTime, "tp-time", 10*time.Second, "throughput: publishing window")
	flag.IntVar(&cfg.RoomSubs, "room-subs", 10000, "room: subscribers on the one channel")
	flag.IntVar(&cfg.RoomPubs, "room-publishers", 16, "room: concurrent closed-loop publishers (each sends its next message when the last was accepted)")
	flag.DurationVar(&cfg.RoomTime, "room-time", 10*time.Second, "room: publishing window")
	flag.IntVar(&cfg.ChurnStable, "churn-stable", 1000, "churn: long-lived subscribers")
	flag.IntVar(&cfg.ChurnRate, "churn-rate", 200, "churn: connections opened and closed per second")
	flag.DurationVar(&cfg.ChurnTime, "churn-time", 20*time.Second, "churn: duration")
	flag.Parse()

	self, err := os.Executable()
	fatal(err)
	if *pin {
		pinSelf(self)
	}
	o.Self, cfg.WorkerExe, cfg.WorkerArgs = self, self, []string{"worker"}
	if *pin {
		o.CPUs, cfg.ClientCPUs = "1", "0"
		cfg.Notes = append(cfg.Notes, "pinned: server on CPU 1, clients and publishers on CPU 0 (taskset)")
	}
	cfg.Notes = append(cfg.Notes, bench.MachineNote())
	if name, addr, ok := strings.Cut(*external, "="); ok {
		cfg.Targets = append(cfg.Targets, &bench.External{Label: name, Ep: bench.Endpoint{Proto: bench.ProtoComet, Addr: addr, APIKey: o.APIKey}, HTTPTransports: true})
	}
	built, notes, err := bench.NewTargets(strings.Split(*targets, ","), o)
	fatal(err)
	cfg.Targets = append(cfg.Targets, built...)
	for _, n := range notes {
		fmt.Fprintln(os.Stderr, "cometbench:", n)
	}
	for _, f := range strings.Split(*subs, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		fatal(err)
		cfg.BroadcastSweep = append(cfg.BroadcastSweep, n)
	}
	cfg.Scenarios = strings.Split(*scenarios, ",")
	cfg.OutDir = *out
	if cfg.OutDir == "" {
		cfg.OutDir = filepath.Join("results", time.Now().Format("20060102-150405"))
	}
	cfg.Progress = os.Stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Printf("cometbench %s -> %s\n%s\n", strings.Join(os.Args[1:], " "), cfg.OutDir, strings.Join(cfg.Notes, "\n"))
	results, err := bench.Run(ctx, cfg)
	bench.WriteTable(os.Stdout, results)
	bench.WriteRatios(os.Stdout, results, bench.RefTarget(results))
	fatal(err)
}

func serveBaseline(args []string) {
	fs := flag.NewFlagSet("serve-baseline", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:8090", "listen address")
	key := fs.String("api-key", os.Getenv("COMET_API_KEY"), "publish API key")
	_ = fs.Parse(args)
	srv := baseline.New(*key)
	fatal(srv.Start(*addr))
	fmt.Fprintln(os.Stderr, "baseline listening on", srv.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
}

func serveFloor(args []string) {
	fs := flag.NewFlagSet("serve-floor", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:8091", "listen address")
	key := fs.String("api-key", os.Getenv("COMET_API_KEY"), "publish API key")
	_ = fs.Parse(args)
	srv := floor.New(*key)
	fatal(srv.Start(*addr))
	fmt.Fprintln(os.Stderr, "floor listening on", srv.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
}

// pinnedEnv marks a cometbench that -pin has already moved to CPU 0.
const pinnedEnv = "COMETBENCH_PINNED"

// pinSelf runs this process again under "taskset -c 0", so that the
// coordinator's publishers share CPU 0 with the client workers and leave
// CPU 1 to the server. Every thread of the new process inherits the
// affinity, which setting it from inside a running Go program would not
// guarantee.
func pinSelf(self string) {
	if os.Getenv(pinnedEnv) == "1" {
		return
	}
	taskset, err := exec.LookPath("taskset")
	fatal(err)
	argv := append([]string{"taskset", "-c", "0", self}, os.Args[1:]...)
	fatal(syscall.Exec(taskset, argv, append(os.Environ(), pinnedEnv+"=1")))
}

func fatal(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "cometbench:", err)
		os.Exit(1)
	}
}
