package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/comet-im/comet/auth"
	"github.com/comet-im/comet/notify"
	"github.com/comet-im/comet/server"
)

// authOptions are the identity flags (docs/AUTH.md).
type authOptions struct {
	mode         string // open, jwt, hook, demo
	jwtSecret    string
	jwtPublicKey string // a PEM file
	jwtJWKS      string
	jwtAlgs      string
	jwtIssuer    string
	jwtAudience  string
	tokenCookie  string
	hookURL      string
	hookCookies  string
	hookHeaders  string
	hookCacheTTL time.Duration
	anonymous    bool
	policyFile   string // namespaces, JSON (auth.PolicyConfig)
	webhookURL   string
	webhookKey   string
}

// defaultPolicy is the namespaces a node gets without -policy: rooms any
// signed-in user may read and write (with presence), public channels
// anyone may read, personal channels for their owner (added by auth), and
// nothing else.
var defaultPolicy = auth.PolicyConfig{
	Namespaces: []auth.Namespace{
		{Prefix: "room:", Subscribe: auth.RuleAuthenticated, Publish: auth.RuleAuthenticated, Presence: true, JoinLeave: true},
		{Prefix: "public:", Subscribe: auth.RuleAnyone, Publish: auth.RuleNobody, Anonymous: true},
	},
}

// buildAuth turns the identity flags into the server's AuthConfig.
func buildAuth(o *authOptions) (server.AuthConfig, error) {
	var a server.AuthConfig
	switch o.mode {
	case "open":
		return a, nil
	case "jwt", "hook", "demo":
	case "":
		return a, errors.New("-auth: choose open (no identity: every client may do everything), jwt, hook or demo")
	default:
		return a, fmt.Errorf("-auth %q: want open, jwt, hook or demo", o.mode)
	}
	pc := defaultPolicy
	if o.policyFile != "" {
		b, err := os.ReadFile(o.policyFile)
		if err != nil {
			return a, fmt.Errorf("-policy: %w", err)
		}
		pc = auth.PolicyConfig{}
		if err := json.Unmarshal(b, &pc); err != nil {
			return a, fmt.Errorf("-policy %s: %w", o.policyFile, err)
		}
	}
	pc.Anonymous = pc.Anonymous || o.anonymous
	policy, err := auth.NewPolicy(pc)
	if err != nil {
		return a, err
	}
	a.Policy = policy
	a.Tokens = auth.TokenTransport{Cookie: o.tokenCookie}

	var keys []auth.Key
	if o.jwtSecret != "" {
		keys = append(keys, auth.Key{Secret: []byte(o.jwtSecret)})
	}
	if o.jwtPublicKey != "" {
		pem, err := os.ReadFile(o.jwtPublicKey)
		if err != nil {
			return a, fmt.Errorf("-jwt-public-key: %w", err)
		}
		keys = append(keys, auth.Key{PEM: pem})
	}
	if o.mode == "demo" {
		demo, err := auth.NewDemoIssuer(auth.DemoConfig{})
		if err != nil {
			return a, err
		}
		a.Demo = demo
		keys = append(keys, demo.Key())
	}
	if len(keys) > 0 || o.jwtJWKS != "" {
		v, err := auth.NewVerifier(auth.VerifierConfig{Keys: keys, JWKSFile: o.jwtJWKS,
			Algorithms: splitList(o.jwtAlgs), Issuer: o.jwtIssuer, Audience: o.jwtAudience})
		if err != nil {
			return a, err
		}
		a.Verifier = v
	} else if o.mode == "jwt" {
		return a, errors.New("-auth jwt needs a key: -jwt-secret, -jwt-public-key or -jwt-jwks")
	}
	if o.mode == "hook" {
		if o.hookURL == "" {
			return a, errors.New("-auth hook needs -auth-hook-url")
		}
		h, err := auth.NewHook(auth.HookConfig{URL: o.hookURL, Cookies: splitList(o.hookCookies),
			Headers: splitList(o.hookHeaders), CacheTTL: o.hookCacheTTL})
		if err != nil {
			return a, err
		}
		a.Hook = h
	}
	if o.webhookURL != "" {
		w, err := notify.New(notify.Config{URL: o.webhookURL, Secret: []byte(o.webhookKey)})
		if err != nil {
			return a, err
		}
		a.Webhook = w
	}
	return a, nil
}
