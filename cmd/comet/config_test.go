package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// env is a test environment.
func env(kv ...string) lookupEnv {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A key set in the file loses to its environment variable, which loses to
// the flag; -check-config's sources say which won.
func TestConfigPrecedence(t *testing.T) {
	file := writeFile(t, "comet.yaml", `
auth: open
max-connections: 100      # file only
max-subscriptions: 5      # file, then env
publish-rate: 7           # file, env, then flag
drain:
  window: 30s
allowed-origins: [https://a.example, https://b.example]
`)
	o, err := loadOptions([]string{"-config", file, "-publish-rate", "9"},
		env("COMET_MAX_SUBSCRIPTIONS", "6", "COMET_PUBLISH_RATE", "8", "COMET_HISTORY_SIZE", "3"))
	if err != nil {
		t.Fatal(err)
	}
	c := o.server
	for _, tc := range []struct {
		key     string
		got     any
		want    any
		fromSrc string
	}{
		{"max-connections", c.MaxConnections, 100, fromFile},
		{"max-subscriptions", c.MaxSubscriptions, 6, fromEnv},
		{"publish-rate", c.PublishRate, 9, fromFlag},
		{"history-size", c.HistorySize, 3, fromEnv},
		{"drain-window", c.DrainWindow, 30 * time.Second, fromFile},
		{"config", o.configFile, file, fromFlag},
		{"addr", c.Addr, "127.0.0.1:8080", ""},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.key, tc.got, tc.want)
		}
		if src := o.keys.sources[tc.key]; src != tc.fromSrc {
			t.Errorf("%s came from %q, want %q", tc.key, src, tc.fromSrc)
		}
	}
	if got := strings.Join(c.AllowedOrigins, " "); got != "https://a.example https://b.example" {
		t.Errorf("allowed origins %q", got)
	}
	// The memory engine keeps what the node replays.
	if o.memory.HistorySize != 3 {
		t.Errorf("memory history size %d, want 3", o.memory.HistorySize)
	}

	// COMET_CONFIG names the file when -config does not.
	o, err = loadOptions(nil, env("COMET_CONFIG", file))
	if err != nil || o.server.MaxConnections != 100 || o.keys.sources["max-connections"] != fromFile {
		t.Fatalf("COMET_CONFIG: err %v, max-connections %d", err, o.server.MaxConnections)
	}
}

// The two spellings of a sectioned key are one key; a section is a
// prefix, and flat and sectioned forms mix.
func TestConfigSections(t *testing.T) {
	file := writeFile(t, "comet.yaml", `
redis:
  addrs: [10.0.0.1:6379, 10.0.0.2:6379]
  cluster: true
admin-addr: 127.0.0.1:9100
admin:
  feed-interval: 2s
`)
	o, err := loadOptions([]string{"-config", file}, env())
	if err != nil {
		t.Fatal(err)
	}
	if o.engine.redisAddrs != "10.0.0.1:6379,10.0.0.2:6379" || !o.engine.redisCluster ||
		o.admin.addr != "127.0.0.1:9100" || o.admin.feedInterval != 2*time.Second {
		t.Fatalf("engine %+v admin %+v", o.engine, o.admin)
	}
}

// Every way a file can be wrong is reported, with its line, and all of
// them at once.
func TestConfigFileErrors(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"unknown key", "max-conections: 5\n", []string{`line 1: unknown key "max-conections" (did you mean "max-connections"?)`}},
		{"underscores", "max_connections: 5\n", []string{`did you mean "max-connections"`}},
		{"unknown far key", "frobnicate: 1\n", []string{`unknown key "frobnicate"`}},
		{"unknown section key", "redis:\n  adrs: x\n", []string{`line 2: unknown key "redis-adrs" (did you mean "redis-addrs"?)`}},
		{"bad int", "max-connections: lots\n", []string{"line 1: max-connections: invalid value (want an integer)"}},
		{"bad duration", "drain-window: 5\n", []string{"drain-window: invalid value (want a duration such as 10s or 1m30s)"}},
		{"bad bool", "echo: maybe\n", []string{"echo: invalid value (want true or false)"}},
		{"list for a scalar", "addr: [a, b]\n", []string{"addr takes one value, not a list"}},
		{"comma in list item", "allowed-origins: [\"a,b\"]\n", []string{`list item "a,b" holds a comma`}},
		{"null", "api-key:\n", []string{"api-key: no value"}},
		{"nested sections", "redis:\n  tls:\n    x: 1\n", []string{"redis-tls: sections do not nest"}},
		{"alias", "a: &x 1\naddr: *x\n", []string{"aliases are not supported"}},
		{"twice", "redis-tls: true\nredis:\n  tls: false\n", []string{"redis-tls is already set on line 1"}},
		{"command-line key", "check-config: x.yaml\n", []string{"check-config is a command-line option"}},
		{"not a mapping", "- addr\n", []string{"the file must be a mapping"}},
		{"two documents", "addr: a:1\n---\naddr: b:2\n", []string{"more than one YAML document"}},
		{"syntax", "addr: [\n", []string{"yaml:"}},
		{"all at once", "frobnicate: 1\nmax-connections: x\n", []string{"frobnicate", "max-connections: invalid value"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := writeFile(t, "comet.yaml", tc.body)
			_, err := loadOptions([]string{"-config", file}, env())
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	big := writeFile(t, "big.yaml", "# "+strings.Repeat("x", maxConfigBytes)+"\n")
	if _, err := loadOptions([]string{"-config", big}, env()); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a file over the bound: %v", err)
	}
	if _, err := loadOptions([]string{"-config", t.TempDir()}, env()); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a directory: %v", err)
	}
	if _, err := loadOptions([]string{"-config", "/nonexistent/comet.yaml"}, env()); err == nil {
		t.Error("a missing file was accepted")
	}
	if _, err := loadOptions(nil, env("COMET_MAX_CONNECTIONS", "x")); err == nil || !strings.Contains(err.Error(), "COMET_MAX_CONNECTIONS") {
		t.Errorf("a malformed variable: %v", err)
	}
	a, b := writeFile(t, "a.yaml", ""), writeFile(t, "b.yaml", "")
	if _, err := loadOptions([]string{"-config", a, "-check-config", b}, env()); err == nil || !strings.Contains(err.Error(), "name one file") {
		t.Errorf("two files: %v", err)
	}
	if o, err := loadOptions([]string{"-config", writeFile(t, "empty.yaml", "# nothing\n")}, env()); err != nil || o.server.Addr != "127.0.0.1:8080" {
		t.Errorf("an empty file: %v", err)
	}
}

// Every check that validate adds to the flag types' own, one at a time,
// each named in its error.
func TestConfigValidation(t *testing.T) {
	key := strings.Repeat("k", 32)
	policy := writeFile(t, "policy.json", `{"namespaces":[{"prefix":"_comet:x","subscribe":"anyone"}]}`)
	badPolicy := writeFile(t, "bad.json", `{"namespaces":[{"prefix":"room:","subscribe":"nobody"}]}`)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"auth missing", nil, "auth: choose open"},
		{"auth unknown", []string{"-auth", "ldap"}, `auth "ldap"`},
		{"jwt without a key", []string{"-auth", "jwt"}, "auth jwt needs a key"},
		{"jwt short secret", []string{"-auth", "jwt", "-jwt-secret", "short"}, "secret"},
		{"jwt missing pem", []string{"-auth", "jwt", "-jwt-public-key", "/nonexistent.pem"}, "jwt-public-key"},
		{"hook without url", []string{"-auth", "hook"}, "auth hook needs auth-hook-url"},
		{"policy missing", []string{"-auth", "jwt", "-jwt-secret", key, "-policy", "/nonexistent.json"}, "policy:"},
		{"policy invalid", []string{"-auth", "jwt", "-jwt-secret", key, "-policy", badPolicy}, "nobody"},
		{"policy reserved", []string{"-auth", "jwt", "-jwt-secret", key, "-policy", policy}, "reserved"},
		{"webhook url", []string{"-auth", "jwt", "-jwt-secret", key, "-presence-webhook", "ftp://x"}, "url"},
		{"engine", []string{"-auth", "open", "-engine", "etcd"}, `engine "etcd"`},
		{"redis prefix", []string{"-auth", "open", "-engine", "redis", "-redis-prefix", "{x}"}, "redis: prefix"},
		{"log level", []string{"-auth", "open", "-log-level", "loud"}, "log-level"},
		{"log format", []string{"-auth", "open", "-log-format", "xml"}, `log-format "xml"`},
		{"trusted proxies", []string{"-auth", "open", "-trusted-proxies", "10.0.0.0/33"}, "trusted-proxies"},
		{"server limits", []string{"-auth", "open", "-max-subscriptions", "-1"}, "max subscriptions must not be negative"},
		{"server timers", []string{"-auth", "open", "-drain-window", "-1s"}, "drain window must not be negative"},
		{"server addr", []string{"-auth", "open", "-addr", "nowhere"}, `addr "nowhere"`},
		{"max in flight", []string{"-auth", "open", "-max-in-flight", "300"}, "max in flight"},
		{"memory engine", []string{"-auth", "open", "-max-channels", "-5"}, "memory:"},
		{"admin off loopback", []string{"-auth", "open", "-admin-addr", "0.0.0.0:9100"}, "an admin token is required"},
		{"admin token short", []string{"-auth", "open", "-admin-addr", "127.0.0.1:9100", "-admin-token", "short"}, "at least 16 bytes"},
		{"admin addr", []string{"-auth", "open", "-admin-addr", "9100"}, `admin-addr "9100"`},
		{"admin on the public port", []string{"-auth", "open", "-addr", "127.0.0.1:8080", "-admin-addr", "127.0.0.1:8080"}, "must differ from addr"},
		{"admin dashboard", []string{"-auth", "open", "-admin-dashboard", "maybe"}, `admin-dashboard "maybe"`},
		{"admin public url", []string{"-auth", "open", "-admin-public-url", "example.com"}, "admin-public-url"},
		{"admin feed interval", []string{"-auth", "open", "-admin-feed-interval", "1ms"}, "admin-feed-interval"},
		{"inbox mode", []string{"-auth", "open", "-inbox", "maybe"}, `inbox "maybe"`},
		{"inbox without identity", []string{"-auth", "open", "-inbox", "on", "-data-dir", "/tmp"}, "needs identities"},
		{"inbox without a directory", []string{"-auth", "jwt", "-jwt-secret", key, "-inbox", "on"}, "set data-dir"},
		{"inbox durability", []string{"-auth", "jwt", "-jwt-secret", key, "-inbox-durability", "never"}, "inbox-durability"},
		{"inbox limits", []string{"-auth", "jwt", "-jwt-secret", key, "-data-dir", "/tmp", "-inbox-group-window", "1s"}, "inbox"},
		{"redis inbox limits", []string{"-auth", "jwt", "-jwt-secret", key, "-engine", "redis", "-inbox", "on", "-inbox-max-payload-bytes", "999999999"}, "inbox"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := loadOptions(tc.args, env())
			if err == nil {
				err = validate(o)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
	o, err := loadOptions([]string{"-auth", "jwt", "-jwt-secret", key, "-admin-addr", "0.0.0.0:9100",
		"-admin-token", strings.Repeat("t", 16)}, env())
	if err != nil {
		t.Fatal(err)
	}
	if err := validate(o); err != nil {
		t.Fatalf("a valid configuration: %v", err)
	}
}

// -check-config prints a file that loads back to the same configuration,
// secrets redacted.
func TestCheckConfigRoundTrip(t *testing.T) {
	secret := strings.Repeat("s", 32)
	file := writeFile(t, "comet.yaml", `
auth: jwt
jwt-secret: `+secret+`
api-key: the-api-key
allowed-origins: [https://a.example, "https://b.example:8443"]
drain: {delay: 5s, window: 30s}
max-connections: 50000
`)
	o, err := loadOptions([]string{"-check-config", file}, env("COMET_LOG_FORMAT", "json"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := checkConfig(&out, o, nil); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, s := range []string{secret, "the-api-key"} {
		if strings.Contains(text, s) {
			t.Errorf("the output shows a secret:\n%s", text)
		}
	}
	for _, s := range []string{"log-format: json  # env COMET_LOG_FORMAT", "max-connections: 50000  # file",
		"drain-window: 30s  # file", "addr: 127.0.0.1:8080  # default", `jwt-secret: "<redacted>"`} {
		if !strings.Contains(text, s) {
			t.Errorf("the output lacks %q:\n%s", s, text)
		}
	}
	// Put the secrets back and load the output as a file.
	text = strings.Replace(text, `jwt-secret: "<redacted>"`, "jwt-secret: "+secret, 1)
	text = strings.Replace(text, `api-key: "<redacted>"`, "api-key: the-api-key", 1)
	again, err := loadOptions([]string{"-config", writeFile(t, "again.yaml", text)}, env())
	if err != nil {
		t.Fatalf("the output does not load: %v\n%s", err, text)
	}
	for _, k := range o.keys.keys {
		if k.has(cliOnly) {
			continue
		}
		if a, b := o.keys.value(k.name), again.keys.value(k.name); a != b {
			t.Errorf("%s: %q, then %q", k.name, a, b)
		}
	}

	bad := writeFile(t, "bad.yaml", "auth: open\nmax-connections: -x\nfrobnicate: 1\n")
	o, err = loadOptions([]string{"-check-config", bad}, env())
	out.Reset()
	err = checkConfig(&out, o, err)
	if err == nil || !strings.Contains(err.Error(), "frobnicate") || !strings.Contains(err.Error(), "max-connections") || out.Len() != 0 {
		t.Fatalf("an invalid file: err %v, printed %q", err, out.String())
	}
}

// A reload reports the live keys it changed and the others, which need a
// restart.
func TestChangedKeys(t *testing.T) {
	load := func(args ...string) *options {
		o, err := loadOptions(append([]string{"-auth", "open"}, args...), env())
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	started := load("-max-connections", "10", "-loops", "2")
	next := load("-max-connections", "20", "-loops", "4", "-log-level", "debug")
	applied, restart := changedKeys(started, started, next)
	if strings.Join(applied, ",") != "max-connections,log-level" || strings.Join(restart, ",") != "loops" {
		t.Fatalf("applied %v, restart %v", applied, restart)
	}
	// The restart keys are compared with the start, the live ones with
	// the last reload.
	applied, restart = changedKeys(started, next, next)
	if len(applied) != 0 || strings.Join(restart, ",") != "loops" {
		t.Fatalf("again: applied %v, restart %v", applied, restart)
	}
}
