package main

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"strings"
)

// Where a key's value came from, lowest precedence first.
const (
	fromDefault = "default"
	fromFile    = "file"
	fromEnv     = "env"
	fromFlag    = "flag"
)

// lookupEnv is os.LookupEnv, or a test's map.
type lookupEnv func(string) (string, bool)

// loadOptions builds the configuration: defaults, then the file (-config,
// COMET_CONFIG, or -check-config's), then COMET_* variables, then the
// command line. It reports every problem it finds, not only the first.
func loadOptions(args []string, env lookupEnv) (*options, error) {
	// First pass: the command line alone, to find the file.
	first := newOptions()
	if err := first.keys.fs.Parse(args); err != nil {
		return nil, err
	}
	path := first.configFile
	if path == "" {
		path, _ = env(envName("config"))
	}
	if first.checkConfig != "" {
		if path != "" && path != first.checkConfig {
			return nil, fmt.Errorf("-check-config %s and -config %s: name one file", first.checkConfig, path)
		}
		path = first.checkConfig
	}

	o := newOptions()
	o.configFile = path
	ks := o.keys
	sources := make(map[string]string)
	var errs []error
	if path != "" {
		vals, err := readConfigFile(path)
		if err != nil {
			return nil, err
		}
		for _, name := range sortedKeys(vals) {
			if err := ks.setFromFile(name, vals[name]); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", path, err))
				continue
			}
			sources[name] = fromFile
		}
	}
	for _, k := range ks.keys {
		if k.has(noEnv) {
			continue
		}
		if v, ok := env(k.envName()); ok {
			if err := ks.set(k, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", k.envName(), err))
				continue
			}
			sources[k.name] = fromEnv
		}
	}
	if err := ks.fs.Parse(args); err != nil {
		return nil, err
	}
	// The first pass's flag set was set by the command line alone.
	first.keys.fs.Visit(func(f *flag.Flag) { sources[f.Name] = fromFlag })
	ks.sources = sources
	if err := o.finish(); err != nil {
		errs = append(errs, err)
	}
	return o, errors.Join(errs...)
}

// setFromFile sets one key from the file.
func (ks *keySet) setFromFile(name string, v fileValue) error {
	k := ks.byName[name]
	switch {
	case k == nil:
		if near := ks.nearest(name); near != "" {
			return fmt.Errorf("line %d: unknown key %q (did you mean %q?)", v.line, name, near)
		}
		return fmt.Errorf("line %d: unknown key %q", v.line, name)
	case k.has(cliOnly):
		return fmt.Errorf("line %d: %s is a command-line option, not a file key", v.line, name)
	}
	val := v.value
	if strings.HasPrefix(val, listSep) {
		if !k.has(list) {
			return fmt.Errorf("line %d: %s takes one value, not a list", v.line, name)
		}
		val = strings.ReplaceAll(val[len(listSep):], listSep, ",")
	}
	if err := ks.set(k, val); err != nil {
		return fmt.Errorf("line %d: %s: %w", v.line, name, err)
	}
	return nil
}

// set sets a key, saying what its type wants when v is not one (and not
// repeating v, which may be a secret).
func (ks *keySet) set(k *key, v string) error {
	if err := ks.fs.Set(k.name, v); err != nil {
		want := map[string]string{"int": "an integer", "bool": "true or false",
			"duration": "a duration such as 10s or 1m30s"}[k.kind]
		if want == "" {
			return err
		}
		return fmt.Errorf("invalid value (want %s)", want)
	}
	return nil
}

// nearest returns the known key closest to name, if any is close: a
// typo, or underscores for dashes.
func (ks *keySet) nearest(name string) string {
	if k := ks.byName[strings.ReplaceAll(name, "_", "-")]; k != nil {
		return k.name
	}
	best, bestD := "", 3
	for _, k := range ks.keys {
		if d := editDistance(name, k.name); d < bestD && !k.has(cliOnly) {
			best, bestD = k.name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// finish turns the raw forms into the server's types and checks what
// the flag types cannot.
func (o *options) finish() error {
	var errs []error
	c := &o.server
	c.AllowedOrigins = splitList(o.origins)
	c.TrustedProxies = nil
	for _, p := range splitList(o.proxies) {
		prefix, err := parsePrefix(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("trusted-proxies: %w", err))
			continue
		}
		c.TrustedProxies = append(c.TrustedProxies, prefix)
	}
	if err := o.logLevel.UnmarshalText([]byte(o.logLevelText)); err != nil {
		errs = append(errs, fmt.Errorf("log-level: %w", err))
	}
	switch o.logFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log-format %q: want text or json", o.logFormat))
	}
	switch o.engine.kind {
	case "memory", "redis":
	default:
		errs = append(errs, fmt.Errorf("engine %q: want memory or redis", o.engine.kind))
	}
	if err := o.inbox.check(o); err != nil {
		errs = append(errs, err)
	}
	if err := o.admin.check(o); err != nil {
		errs = append(errs, err)
	}
	// The engine keeps what the node replays.
	o.memory.HistorySize, o.memory.HistoryTTL = c.HistorySize, c.HistoryTTL
	return errors.Join(errs...)
}

// parsePrefix reads a CIDR prefix or a single address.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
