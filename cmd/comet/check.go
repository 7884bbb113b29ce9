package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/comet-im/comet/broker/memory"
	"go.yaml.in/yaml/v3"
)

// validate checks everything a start would, short of binding addresses
// and connecting to the engine: the keys, the server's configuration,
// the identity files and keys, the engine's configuration.
func validate(o *options) error {
	id := newIdentity(o)
	defer id.close()
	var errs []error
	cfg, err := serverConfig(o, id)
	if err != nil {
		errs = append(errs, err)
	}
	if cfg.Broker, err = memory.New(memory.Config{}); err == nil { // stands in for the engine
		if err := cfg.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := checkEngine(o); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// checkConfig is -check-config: it reports every problem, or prints the
// effective configuration, a file that loads as it is, with secrets
// redacted and each key's source as a comment.
func checkConfig(w io.Writer, o *options, loadErr error) error {
	err := loadErr
	if err == nil {
		err = validate(o)
	}
	if err != nil {
		return fmt.Errorf("%s: invalid configuration:\n  %s", o.configFile,
			strings.ReplaceAll(err.Error(), "\n", "\n  "))
	}
	fmt.Fprintf(w, "# %s: valid. Effective configuration (default < file < environment < flags):\n", o.configFile)
	printConfig(w, o.keys)
	return nil
}

// printConfig writes every key's value, grouped as in the reference.
func printConfig(w io.Writer, ks *keySet) {
	group := ""
	for _, k := range ks.keys {
		if k.has(cliOnly) {
			continue
		}
		if k.group != group {
			group = k.group
			fmt.Fprintf(w, "\n# %s\n", group)
		}
		src := ks.sources[k.name]
		if src == "" {
			src = fromDefault
		}
		if src == fromEnv {
			src += " " + k.envName()
		}
		fmt.Fprintf(w, "%s: %s  # %s\n", k.name, yamlValue(k, ks.value(k.name)), src)
	}
}

// yamlValue renders a value for the file: a list as a sequence, a secret
// as a placeholder, anything else as a quoted-when-needed scalar.
func yamlValue(k *key, v string) string {
	switch {
	case k.has(secret) && v != "":
		return `"<redacted>"`
	case k.has(list):
		items := splitList(v)
		for i, it := range items {
			items[i] = yamlScalar(it)
		}
		return "[" + strings.Join(items, ", ") + "]"
	case k.kind != "string":
		return v // numbers, booleans and durations need no quotes
	}
	return yamlScalar(v)
}

func yamlScalar(v string) string {
	if v == "" {
		return `""`
	}
	b, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%q", v)
	}
	return strings.TrimSuffix(string(b), "\n")
}
