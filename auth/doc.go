// Package auth decides who a connection is and what it may do: it turns a
// connection token (a JWT), a subscription token, or the answer of an
// application's connect hook into an Identity, and a namespace Policy turns
// an Identity and a channel name into a Decision.
//
// docs/AUTH.md is the operator's and the backend developer's contract:
// token claims, where a token may travel, namespaces, the hook's request
// and answer, and the answer a client gets for each error. This package
// implements it; the error values carry their answers (AnswerFor), so the
// server writes them from one place.
//
// Must not import: any other package of this module, gnet, or anything
// outside the standard library and github.com/golang-jwt/jwt/v5. The
// server calls into this package; nothing here calls back.
//
// Concurrency: a Verifier, a Policy, a TokenTransport, a Hook and a
// DemoIssuer are immutable after construction and safe for concurrent use
// from any goroutine, including the server's event loops.
//
// What may run on an event loop (CPU only, no I/O, no locks, no
// goroutines): Verifier.Verify, Verifier.VerifySubscription,
// Verifier.Refresh, TokenTransport.Extract, RedactQuery, every Policy
// method, AnswerFor, Hook.Cached and Hook.Stats (a mutex held for a map
// lookup), and DemoIssuer.Issue. Verification costs a few
// microseconds for HMAC and tens of microseconds for RS256 and ES256 (see
// the benchmarks); that is the price of one connect, paid on the loop.
//
// What blocks and must run off the event loop: Hook.Authenticate (an
// HTTP call bounded by the hook's timeout), and NewVerifier when
// VerifierConfig.JWKSFile is set (it reads the file once).
package auth
