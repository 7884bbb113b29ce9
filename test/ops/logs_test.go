//go:build unix

package ops

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// -log-format json writes one JSON object per line; at debug each
// connection logs its open and its close, and no payload appears.
func TestJSONLogs(t *testing.T) {
	t.Parallel()
	n := startNode(t, "-log-format", "json", "-log-level", "debug")
	c := dialWS(t, n.URL(), nil)
	c.subscribe(t, "room:logs")
	c.send(t, `{"op":"pub","ch":"room:logs","data":"secret-payload-4b1d","id":"p"}`)
	c.expect(t, "ok", "p")
	_ = c.c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	_, _ = c.read(waitTimeout)
	n.log.waitFor(t, `"msg":"connection closed"`)
	if err := n.stop(); err != nil {
		t.Fatal(err)
	}
	out := n.log.String()
	for _, line := range strings.Split(out, "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil || m["msg"] == nil || m["level"] == nil || m["time"] == nil {
			t.Errorf("not a JSON log line: %q", line)
		}
	}
	for _, want := range []string{`"msg":"connection opened"`, `"msg":"connection closed"`, `"transport":"ws"`, `"reason":"normal"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "secret-payload") {
		t.Errorf("a payload reached the log:\n%s", out)
	}
}
