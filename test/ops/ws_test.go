//go:build unix

package ops

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// wsClient is a WebSocket client of the JSON protocol.
type wsClient struct {
	c *websocket.Conn
}

func dialWS(t *testing.T, base string, header http.Header) *wsClient {
	t.Helper()
	c, err := tryDialWS(base, header)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.c.Close() })
	return c
}

func tryDialWS(base string, header http.Header) (*wsClient, error) {
	d := websocket.Dialer{HandshakeTimeout: waitTimeout}
	c, resp, err := d.Dial("ws"+strings.TrimPrefix(base, "http")+"/ws", header)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("dial: %w (HTTP %d)", err, resp.StatusCode)
		}
		return nil, err
	}
	return &wsClient{c: c}, nil
}

// frame is any server message.
type frame struct {
	Op        string          `json:"op"`
	ID        string          `json:"id"`
	Ch        string          `json:"ch"`
	Seq       uint64          `json:"seq"`
	Epoch     string          `json:"epoch"`
	Code      int             `json:"code"`
	Recovered *bool           `json:"recovered"`
	Data      json.RawMessage `json:"data"`
}

func (w *wsClient) send(t *testing.T, v string) {
	t.Helper()
	if err := w.c.WriteMessage(websocket.TextMessage, []byte(v)); err != nil {
		t.Fatal(err)
	}
}

// read returns the next server message.
func (w *wsClient) read(deadline time.Duration) (frame, error) {
	_ = w.c.SetReadDeadline(time.Now().Add(deadline))
	_, p, err := w.c.ReadMessage()
	if err != nil {
		return frame{}, err
	}
	var f frame
	err = json.Unmarshal(p, &f)
	return f, err
}

// expect reads until a message with op (and id, when given) arrives.
func (w *wsClient) expect(t *testing.T, op, id string) frame {
	t.Helper()
	end := time.Now().Add(waitTimeout)
	for {
		if time.Now().After(end) {
			t.Fatalf("no %s %s within %s", op, id, waitTimeout)
		}
		f, err := w.read(time.Until(end))
		if err != nil {
			t.Fatalf("waiting for %s %s: %v", op, id, err)
		}
		if f.Op == op && (id == "" || f.ID == id) {
			return f
		}
	}
}

// subscribe joins ch and returns the reply.
func (w *wsClient) subscribe(t *testing.T, ch string) frame {
	t.Helper()
	w.send(t, fmt.Sprintf(`{"op":"sub","ch":%q,"id":"s-%s"}`, ch, ch))
	for {
		f, err := w.read(waitTimeout)
		if err != nil {
			t.Fatalf("subscribe %s: %v", ch, err)
		}
		if f.ID == "s-"+ch {
			if f.Op != "sub" {
				t.Fatalf("subscribe %s: %+v", ch, f)
			}
			return f
		}
	}
}
