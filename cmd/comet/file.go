package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The configuration file: YAML (go.yaml.in/yaml/v3), a mapping of keys to
// values. A key is a flag name; a mapping value is a section whose keys
// are appended to its name ("drain: {window: 30s}" is drain-window). A
// list key takes a sequence. Anything else is an error, reported with its
// line: an unknown key (with the nearest known one), a key given twice,
// a section inside a section, an alias, an empty value, a sequence where
// one value is expected.

// maxConfigBytes bounds the file.
const maxConfigBytes = 1 << 20

// fileValue is one key's value from the file.
type fileValue struct {
	value string
	line  int
}

// readConfigFile reads path into key → value. Keys are not checked
// against the key set here, only shapes.
func readConfigFile(path string) (map[string]fileValue, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxConfigBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxConfigBytes)
	}
	vals, err := parseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return vals, nil
}

// parseConfig flattens a YAML document into key → value.
func parseConfig(b []byte) (map[string]fileValue, error) {
	out := make(map[string]fileValue)
	if len(bytes.TrimSpace(b)) == 0 {
		return out, nil
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return out, nil // comments only
	} else if err != nil {
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document")
	}
	if len(doc.Content) == 0 {
		return out, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: the file must be a mapping of keys to values", root.Line)
	}
	var errs []error
	flatten(root, "", out, &errs)
	return out, errors.Join(errs...)
}

// flatten adds the pairs of mapping m under prefix to out.
func flatten(m *yaml.Node, prefix string, out map[string]fileValue, errs *[]error) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Value == "" {
			*errs = append(*errs, fmt.Errorf("line %d: a key must be a plain name", k.Line))
			continue
		}
		name := prefix + k.Value
		switch v.Kind {
		case yaml.MappingNode:
			if prefix != "" {
				*errs = append(*errs, fmt.Errorf("line %d: %s: sections do not nest", v.Line, name))
				continue
			}
			flatten(v, name+"-", out, errs)
			continue
		case yaml.AliasNode:
			*errs = append(*errs, fmt.Errorf("line %d: %s: aliases are not supported", v.Line, name))
			continue
		}
		val, err := scalarOf(v)
		if err != nil {
			*errs = append(*errs, fmt.Errorf("line %d: %s: %w", v.Line, name, err))
			continue
		}
		if prev, dup := out[name]; dup {
			*errs = append(*errs, fmt.Errorf("line %d: %s is already set on line %d", k.Line, name, prev.line))
			continue
		}
		out[name] = fileValue{value: val, line: k.Line}
	}
}

// listSep marks a value that came from a YAML sequence, so that the
// loader can tell a list from a scalar (which may hold commas itself).
const listSep = "\x00"

// scalarOf returns a scalar's text, or a sequence of scalars joined by
// listSep.
func scalarOf(v *yaml.Node) (string, error) {
	switch v.Kind {
	case yaml.ScalarNode:
		if v.Tag == "!!null" {
			return "", errors.New("no value (remove the key for the default)")
		}
		return v.Value, nil
	case yaml.SequenceNode:
		items := make([]string, 0, len(v.Content))
		for _, it := range v.Content {
			if it.Kind != yaml.ScalarNode || it.Tag == "!!null" {
				return "", errors.New("a list holds plain values only")
			}
			if strings.Contains(it.Value, ",") {
				return "", fmt.Errorf("list item %q holds a comma", it.Value)
			}
			items = append(items, it.Value)
		}
		return listSep + strings.Join(items, listSep), nil
	}
	return "", errors.New("unsupported value")
}
