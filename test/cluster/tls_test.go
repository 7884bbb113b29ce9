//go:build unix

package cluster

import (
	"crypto/x509"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestTLSThroughNginx: nginx terminates TLS with a certificate made by the
// test (crypto/x509, self-signed). wss:// subscribers and publishers,
// https:// SSE, long-poll and stream subscribers (over HTTP/2, which the
// shipped config offers), and the API over https all work through it,
// across the nodes; a client that does not trust the certificate is
// refused.
func TestTLSThroughNginx(t *testing.T) {
	t.Parallel()
	rd := singleRedis(t)
	c := startCluster(t, clusterOptions{redis: []string{rd.Addr()}})
	px := c.proxy
	tlsConf := px.cert.client
	channels := []string{"room:t1", "room:t2"}

	// HTTP/2 is offered to clients that ask for it (ALPN).
	resp, err := httpClient(tlsConf).Get(px.HTTPS() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Errorf("GET /healthz over https: %s over %s, want 200 over HTTP/2", resp.Status, resp.Proto)
	}
	// The certificate is what protects the connection: without trusting
	// it, there is none.
	_, _, err = (&websocket.Dialer{HandshakeTimeout: 5 * time.Second}).Dial(px.WSS()+"/ws", nil)
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("wss:// without trusting the certificate: %v, want an unknown authority error", err)
	}

	var recs []*record
	for i := range 4 {
		recs = append(recs, subscribeWS(t, "wss#"+string(rune('a'+i)), fixed(px.WSS()), channels, wsOptions{tls: tlsConf}).rec)
	}
	for _, kind := range []string{"sse", "sse", "poll", "poll", "stream", "iframe"} {
		recs = append(recs, subscribeHTTP(t, kind, kind+"@https", fixed(px.HTTPS()), channels, httpOptions{tls: tlsConf}).rec)
	}
	w := newWSPub(fixed(px.WSS()))
	w.tls = tlsConf
	t.Cleanup(w.close)
	pubs := map[string]publisher{"api@https": newAPIPub(fixed(px.HTTPS()), tlsConf), "wss": w}
	l := newLedger()
	publishAll(t, l, pubs, channels, 15, nil)
	waitAll(t, l, channels, recs, 30*time.Second)
	verify(t, l, channels, recs, nil)

	// Plain http:// on the same nginx still serves (the shipped config
	// listens on both; see deploy/README.md to force TLS).
	req, _ := http.NewRequest("GET", px.URL()+"/healthz", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /healthz over http: %s", resp.Status)
	}
}
