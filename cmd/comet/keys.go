package main

import (
	"flag"
	"slices"
	"strings"
	"time"
)

// Every setting is a key: one flag, its COMET_* environment variable, and
// the same name in the configuration file, defined once here with what
// the reference page (docs/CONFIG.md, checked by TestConfigReference) and
// the reload need to know about it. A section of the file is a prefix:
// "redis: {addrs: …}" is the key redis-addrs.

// keyFlags say how a key may be set and changed.
type keyFlags uint8

const (
	live    keyFlags = 1 << iota // applied by a reload (SIGHUP); others need a restart
	secret                       // redacted by -check-config and in logs
	list                         // a comma-separated list; a YAML sequence in the file
	cliOnly                      // command line (and environment) only: not in the file
	noEnv                        // no environment variable either
)

// key is one setting.
type key struct {
	name  string
	group string
	flags keyFlags
	kind  string // string, int, bool or duration
	def   string // the default, as the reference shows it
}

func (k *key) has(f keyFlags) bool { return k.flags&f != 0 }

// envName is the key's environment variable.
func (k *key) envName() string { return envName(k.name) }

func envName(name string) string {
	return "COMET_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// keySet defines keys on a flag set, group by group.
type keySet struct {
	fs     *flag.FlagSet
	keys   []*key
	byName map[string]*key
	group  string
	// sources says where each key that is not at its default was set:
	// fromFile, fromEnv or fromFlag.
	sources map[string]string
}

func newKeySet(fs *flag.FlagSet) *keySet {
	return &keySet{fs: fs, byName: make(map[string]*key)}
}

// section starts a group of keys in the reference.
func (ks *keySet) section(name string) { ks.group = name }

func (ks *keySet) add(name, kind string, f keyFlags) {
	k := &key{name: name, group: ks.group, flags: f, kind: kind, def: ks.fs.Lookup(name).DefValue}
	ks.keys = append(ks.keys, k)
	ks.byName[name] = k
}

func (ks *keySet) str(p *string, name, def, usage string, f keyFlags) {
	ks.fs.StringVar(p, name, def, usage)
	ks.add(name, "string", f)
}

func (ks *keySet) int(p *int, name string, def int, usage string, f keyFlags) {
	ks.fs.IntVar(p, name, def, usage)
	ks.add(name, "int", f)
}

func (ks *keySet) int64(p *int64, name string, def int64, usage string, f keyFlags) {
	ks.fs.Int64Var(p, name, def, usage)
	ks.add(name, "int", f)
}

func (ks *keySet) bool(p *bool, name string, def bool, usage string, f keyFlags) {
	ks.fs.BoolVar(p, name, def, usage)
	ks.add(name, "bool", f)
}

func (ks *keySet) dur(p *time.Duration, name string, def time.Duration, usage string, f keyFlags) {
	ks.fs.DurationVar(p, name, def, usage)
	ks.add(name, "duration", f)
}

// value returns a key's current value as text.
func (ks *keySet) value(name string) string { return ks.fs.Lookup(name).Value.String() }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
