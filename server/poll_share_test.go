package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/comet-im/comet/broker"
	"github.com/comet-im/comet/protocol"
)

// replyConn records what is written to it, and may be closed.
type replyConn struct {
	callConn
	closed bool
}

func (c *replyConn) Close() error {
	c.closed = true
	return nil
}

// pollReply is one HTTP answer a fake connection received.
type pollReply struct {
	resp *http.Response
	body []byte
	msgs []int // the seqs of its messages
	cur  string
}

func readPollReply(t *testing.T, out []byte, head bool) pollReply {
	t.Helper()
	req := &http.Request{Method: "GET"}
	if head {
		req.Method = "HEAD"
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), req)
	if err != nil {
		t.Fatalf("answer %q: %v", out, err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := pollReply{resp: resp, body: body}
	if head {
		return r
	}
	var a struct {
		Cursor string `json:"cursor"`
		Msgs   []struct {
			Seq int `json:"seq"`
		} `json:"msgs"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	r.cur = a.Cursor
	for _, m := range a.Msgs {
		r.msgs = append(r.msgs, m.Seq)
	}
	return r
}

// Parked polls woken by the same drain get the answer their own
// positions, identity and request call for, whether they share a built
// body or not: equal polls the same bytes, a poll on another channel set
// its own cursor, a poll that published one of the messages all but it,
// and each its own header block (CORS origin, Connection: close, HEAD).
func TestPollAnswersShared(t *testing.T) {
	p := newParkedPolls(t, 0)
	l := p.l
	conns := make([]*replyConn, 8)
	for i := range conns {
		conns[i] = &replyConn{}
		s := &session{gc: conns[i], loop: l}
		s.timer.Owner = s
		l.addSession(s)
	}
	base := "GET /poll?wait=25&cursor=bench~" + p.epoch + "~" + strconv.FormatUint(p.seq, 10)
	for i, s := range l.sessions {
		req := base
		if i == 4 {
			req += "&ch=other" // another channel set
		}
		raw := []byte(req + " HTTP/1.1\r\nHost: comet\r\n\r\n")
		l.feeding = s
		s.Feed(&l.env, s, raw)
		l.feeding = nil
		l.flush(s)
	}
	for i, s := range l.sessions {
		if s.http == nil || len(s.subs) == 0 {
			t.Fatalf("poll %d did not park", i)
		}
	}
	l.sessions[1].http.origin = "https://a.example"
	l.sessions[2].http.keepAlive = false
	l.sessions[3].http.head = true
	l.sessions[5].who = &who{conn: "c5"} // it publishes the first message
	l.sessions[6].who = &who{conn: "c6"} // it publishes none

	// Two messages in one drain: hold the drain until both are in.
	l.mu.Lock()
	l.scheduled = true
	l.mu.Unlock()
	engine := l.srv.conf().Broker
	if _, err := engine.Publish(context.Background(), "bench", []byte(`{"n":1}`), broker.PublishOptions{Publisher: &broker.ClientInfo{Conn: "c5"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := engine.Publish(context.Background(), "bench", []byte(`{"n":2}`), broker.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	l.drain()

	top := int(p.seq)
	want := "bench~" + p.epoch + "~" + strconv.Itoa(top+2)
	replies := make([]pollReply, len(conns))
	for i, c := range conns {
		replies[i] = readPollReply(t, c.out.Bytes(), i == 3)
		if replies[i].resp.StatusCode != 200 {
			t.Fatalf("poll %d: status %d", i, replies[i].resp.StatusCode)
		}
	}
	for _, i := range []int{0, 1, 2, 6, 7} {
		r := replies[i]
		if len(r.msgs) != 2 || r.msgs[0] != top+1 || r.msgs[1] != top+2 || r.cur != want {
			t.Errorf("poll %d: msgs %v cursor %q, want [%d %d] %q", i, r.msgs, r.cur, top+1, top+2, want)
		}
		if !bytes.Equal(r.body, replies[0].body) {
			t.Errorf("poll %d: body %s, poll 0 got %s", i, r.body, replies[0].body)
		}
	}
	if r := replies[4]; len(r.msgs) != 2 || !bytes.HasPrefix([]byte(r.cur), []byte(want+string(protocol.CursorSep)+"other~")) {
		t.Errorf("poll on two channels: msgs %v cursor %q", r.msgs, r.cur)
	}
	if r := replies[5]; len(r.msgs) != 1 || r.msgs[0] != top+2 || r.cur != want {
		t.Errorf("poll that published the first: msgs %v cursor %q, want [%d] %q", r.msgs, r.cur, top+2, want)
	}
	for i, r := range replies {
		if got, w := r.resp.Header.Get("Access-Control-Allow-Origin"), map[bool]string{true: "https://a.example"}[i == 1]; got != w {
			t.Errorf("poll %d: Access-Control-Allow-Origin %q, want %q", i, got, w)
		}
		if r.resp.Close != (i == 2) || conns[i].closed != (i == 2) {
			t.Errorf("poll %d: Connection: close is %v, closed %v", i, r.resp.Close, conns[i].closed)
		}
	}
	if r := replies[3]; len(r.body) != 0 || r.resp.ContentLength != int64(len(replies[0].body)) {
		t.Errorf("HEAD poll: %d body bytes, Content-Length %d, want 0 and %d", len(r.body), r.resp.ContentLength, len(replies[0].body))
	}
}
