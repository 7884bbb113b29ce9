package bench

import (
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

//go:embed peers/nchan.conf.tmpl
var nchanConf string

//go:embed peers/centrifugo.json.tmpl
var centrifugoConf string

// NchanModule is where Debian's libnginx-mod-nchan puts the module.
const NchanModule = "/usr/lib/nginx/modules/ngx_nchan_module.so"

// The targets other than Comet: the floor, nchan and Centrifugo (the
// baseline is in target.go).

// DefaultCentrifugoBin is where bench/peers/install.sh builds Centrifugo.
func DefaultCentrifugoBin() string {
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "comet-bench", "centrifugo", "centrifugo")
}

// NchanAvailable reports whether nginx and the nchan module are installed.
func NchanAvailable(nginx string) bool {
	if _, err := exec.LookPath(nginx); err != nil {
		return false
	}
	_, err := os.Stat(NchanModule)
	return err == nil
}

// NchanTarget runs nginx with nchan on a generated config (see
// bench/peers/nchan.conf.tmpl): master plus o.Workers worker processes
// (NumCPU by default, like Comet's event loops), each allowed 20,000 files.
func NchanTarget(o TargetOptions) *Process {
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
		if o.CPUs != "" {
			workers = len(strings.Split(o.CPUs, ","))
		}
	}
	history := max(o.HistorySize, 1)
	conf := strings.NewReplacer("{{module}}", NchanModule, "{{workers}}", itoa(workers), "{{history}}", itoa(history)).Replace(nchanConf)
	return &Process{Label: "nchan", Proto: ProtoNchan, CPUs: o.CPUs,
		Files: map[string]string{"nginx.conf": conf},
		Args: func(_ int, dir string) []string {
			return []string{o.NginxBin, "-e", filepath.Join(dir, "error.log"), "-p", dir, "-c", filepath.Join(dir, "nginx.conf")}
		}}
}

// CentrifugoTarget runs Centrifugo v5 with a generated JSON config (see
// bench/peers/centrifugo.json.tmpl): anonymous connect and subscribe, the
// server API keyed with o.APIKey, history of o.HistorySize messages.
func CentrifugoTarget(o TargetOptions) *Process {
	conf := strings.NewReplacer("{{key}}", o.APIKey, "{{history}}", itoa(max(o.HistorySize, 1))).Replace(centrifugoConf)
	var env []string
	if o.Workers > 0 {
		env = append(env, "GOMAXPROCS="+itoa(o.Workers))
	}
	return &Process{Label: "centrifugo", Proto: ProtoCentrifugo, Key: o.APIKey, CPUs: o.CPUs, Env: env,
		Files: map[string]string{"config.json": conf},
		Args: func(_ int, dir string) []string {
			return []string{o.CentrifugoBin, "--config", filepath.Join(dir, "config.json")}
		}}
}

// FloorTarget runs the floor (bench/floor: one thread, one write(2) of the
// same frame per subscriber per message) via "cometbench serve-floor".
func FloorTarget(o TargetOptions) *Process {
	var env []string
	if o.Workers > 0 {
		env = append(env, "GOMAXPROCS="+itoa(o.Workers))
	}
	return &Process{Label: "floor", Proto: ProtoComet, Key: o.APIKey, CPUs: o.CPUs, Env: env,
		Args: func(port int, _ string) []string {
			return []string{o.Self, "serve-floor", "-addr", fmt.Sprintf("127.0.0.1:%d", port), "-api-key", o.APIKey}
		}}
}

// NewTargets builds the named built-in targets ("comet", "floor",
// "baseline", "nchan", "centrifugo", and the clusters "comet-cluster",
// "centrifugo-cluster", "nchan-cluster"). A peer that is not installed is
// left out with a note saying so; a missing Comet binary or an unknown name
// is an error.
func NewTargets(names []string, o TargetOptions) (targets []Target, notes []string, err error) {
	for _, name := range names {
		switch name {
		case "":
		case "comet", "comet-cluster":
			if _, err := os.Stat(o.CometBin); err != nil {
				return nil, nil, fmt.Errorf("bench: %s missing (go build -o bin/comet ./cmd/comet): %w", o.CometBin, err)
			}
			if name == "comet" {
				targets = append(targets, CometTarget(o))
				break
			}
			if _, err := exec.LookPath(o.NginxBin); err != nil {
				return nil, nil, fmt.Errorf("bench: comet-cluster needs nginx: %w", err)
			}
			targets = append(targets, CometClusterTarget(o))
		case "baseline":
			targets = append(targets, BaselineTarget(o))
		case "floor":
			targets = append(targets, FloorTarget(o))
		case "nchan":
			if !NchanAvailable(o.NginxBin) {
				notes = append(notes, "nchan not installed (bench/peers/install.sh): skipped")
				continue
			}
			targets = append(targets, NchanTarget(o))
		case "centrifugo", "centrifugo-cluster":
			if _, err := exec.LookPath(o.CentrifugoBin); err != nil {
				notes = append(notes, "centrifugo not built (bench/peers/install.sh): skipped")
				continue
			}
			if name == "centrifugo" {
				targets = append(targets, CentrifugoTarget(o))
			} else {
				targets = append(targets, CentrifugoClusterTarget(o))
			}
		case "nchan-cluster":
			if !NchanAvailable(o.NginxBin) {
				notes = append(notes, "nchan not installed (bench/peers/install.sh): skipped")
				continue
			}
			targets = append(targets, NchanClusterTarget(o))
		default:
			return nil, nil, fmt.Errorf("bench: unknown target %q", name)
		}
	}
	return targets, notes, nil
}
