package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/comet-im/comet/auth"
	"github.com/comet-im/comet/notify"
	"github.com/comet-im/comet/server"
)

// authOptions are the identity keys (docs/AUTH.md).
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

// identity holds what the identity keys built that lives as long as the
// process: a reload keeps it (a new demo issuer would void every demo
// token; a new hook or webhook would leak the old one's connections and
// goroutines), and changing what made it needs a restart.
type identity struct {
	demo    *auth.DemoIssuer
	hook    *auth.Hook
	webhook *notify.Webhook
	// dash mints the dashboard's tokens; nil unless its feed runs on a
	// node with identity.
	dash *dashIssuer
}

// close releases the hook's and the webhook's resources (-check-config).
func (id *identity) close() {
	if id.hook != nil {
		id.hook.Close()
	}
	if id.webhook != nil {
		ctx, cancel := contextWithTimeout(time.Second)
		defer cancel()
		_ = id.webhook.Close(ctx)
	}
}

// buildAuth turns the identity keys into the server's AuthConfig, making
// the long-lived parts in id the first time and reusing them after.
func buildAuth(o *authOptions, id *identity) (server.AuthConfig, error) {
	var a server.AuthConfig
	switch o.mode {
	case "open":
		return a, nil
	case "jwt", "hook", "demo":
	case "":
		return a, errors.New("auth: choose open (no identity: every client may do everything), jwt, hook or demo")
	default:
		return a, fmt.Errorf("auth %q: want open, jwt, hook or demo", o.mode)
	}
	pc, err := loadPolicy(o)
	if err != nil {
		return a, err
	}
	if id.dash != nil {
		pc.Namespaces = append(pc.Namespaces, id.dash.namespace())
	}
	policy, err := auth.NewPolicy(pc)
	if err != nil {
		return a, err
	}
	a.Policy = policy
	a.Tokens = auth.TokenTransport{Cookie: o.tokenCookie}
	if a.Verifier, err = buildVerifier(o, id); err != nil {
		return a, err
	}
	if o.mode == "hook" {
		if o.hookURL == "" {
			return a, errors.New("auth hook needs auth-hook-url")
		}
		if id.hook == nil {
			h, err := auth.NewHook(auth.HookConfig{URL: o.hookURL, Cookies: splitList(o.hookCookies),
				Headers: splitList(o.hookHeaders), CacheTTL: o.hookCacheTTL})
			if err != nil {
				return a, err
			}
			id.hook = h
		}
		a.Hook = id.hook
	}
	if o.webhookURL != "" {
		if id.webhook == nil {
			w, err := notify.New(notify.Config{URL: o.webhookURL, Secret: []byte(o.webhookKey)})
			if err != nil {
				return a, err
			}
			id.webhook = w
		}
		a.Webhook = id.webhook
	}
	a.Demo = id.demo
	return a, nil
}

// loadPolicy reads the namespaces: -policy's file, or the default.
func loadPolicy(o *authOptions) (auth.PolicyConfig, error) {
	pc := defaultPolicy
	pc.Namespaces = slices.Clone(pc.Namespaces)
	if o.policyFile != "" {
		b, err := os.ReadFile(o.policyFile)
		if err != nil {
			return pc, fmt.Errorf("policy: %w", err)
		}
		pc = auth.PolicyConfig{}
		if err := json.Unmarshal(b, &pc); err != nil {
			return pc, fmt.Errorf("policy %s: %w", o.policyFile, err)
		}
		for _, ns := range pc.Namespaces {
			if strings.HasPrefix(ns.Prefix, dashPrefix) {
				return pc, fmt.Errorf("policy %s: namespace %q: the prefix %s is reserved for the node's own channels", o.policyFile, ns.Prefix, dashPrefix)
			}
		}
	}
	pc.Anonymous = pc.Anonymous || o.anonymous
	return pc, nil
}

// buildVerifier collects the token keys: the configured ones, the demo
// issuer's, the dashboard's.
func buildVerifier(o *authOptions, id *identity) (*auth.Verifier, error) {
	var keys []auth.Key
	if o.jwtSecret != "" {
		keys = append(keys, auth.Key{Secret: []byte(o.jwtSecret)})
	}
	if o.jwtPublicKey != "" {
		pem, err := os.ReadFile(o.jwtPublicKey)
		if err != nil {
			return nil, fmt.Errorf("jwt-public-key: %w", err)
		}
		keys = append(keys, auth.Key{PEM: pem})
	}
	if o.mode == "demo" {
		if id.demo == nil {
			// With jwt-secret the demo signs with it, so that every node of
			// a demo cluster accepts the tokens any of them minted.
			var secret []byte
			if o.jwtSecret != "" {
				secret = []byte(o.jwtSecret)
			}
			demo, err := auth.NewDemoIssuer(auth.DemoConfig{Secret: secret})
			if err != nil {
				return nil, err
			}
			id.demo = demo
		}
		keys = append(keys, id.demo.Key())
	}
	if o.mode == "jwt" && len(keys) == 0 && o.jwtJWKS == "" {
		return nil, errors.New("auth jwt needs a key: jwt-secret, jwt-public-key or jwt-jwks")
	}
	algs := splitList(o.jwtAlgs)
	if id.dash != nil {
		id.dash.setClaims(o.jwtIssuer, o.jwtAudience) // the verifier requires them of every token
		keys = append(keys, id.dash.key())
		if len(algs) > 0 && !slices.Contains(algs, dashAlgorithm) {
			// The node's own key signs the dashboard's tokens.
			algs = append(algs, dashAlgorithm)
		}
	}
	if len(keys) == 0 && o.jwtJWKS == "" {
		return nil, nil // the connect hook alone
	}
	return auth.NewVerifier(auth.VerifierConfig{Keys: keys, JWKSFile: o.jwtJWKS,
		Algorithms: algs, Issuer: o.jwtIssuer, Audience: o.jwtAudience})
}
