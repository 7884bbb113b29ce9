package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// Helpers for the HTTP transport tests: independent clients (net/http,
// curl, raw sockets) and strict parsers of every wire format, each read
// under a deadline.

// trHTTP is the net/http client for requests with a complete answer.
var trHTTP = &http.Client{Timeout: 10 * time.Second}

// trURL builds http://addr/path?k=v&... with proper escaping (cursors and
// channel names may hold '+', '#' and '/').
func trURL(addr, path string, kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Add(kv[i], kv[i+1])
	}
	return "http://" + addr + path + "?" + q.Encode()
}

// waitUntil polls cond until it holds, failing after readTimeout.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(readTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// trMsg is one delivery, as every transport carries it.
type trMsg struct {
	Op   string          `json:"op"`
	Ch   string          `json:"ch"`
	Seq  uint64          `json:"seq"`
	Ts   int64           `json:"ts"`
	From string          `json:"from"`
	Conv string          `json:"conv"`
	Data json.RawMessage `json:"data"`
}

// pollAnswer is a decoded GET /poll answer.
type pollAnswer struct {
	Cursor string            `json:"cursor"`
	Msgs   []trMsg           `json:"msgs"`
	Gap    []string          `json:"gap"`
	Missed map[string]uint64 `json:"missed"`

	Raw    string      `json:"-"`
	Header http.Header `json:"-"`
	Close  bool        `json:"-"` // the answer said Connection: close
}

// decodePollAnswer parses a poll answer strictly: no unknown field, a
// cursor, a msgs array (never null), msg objects only.
func decodePollAnswer(body []byte) (pollAnswer, error) {
	var a pollAnswer
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return a, fmt.Errorf("poll answer %q: %v", body, err)
	}
	if dec.More() {
		return a, fmt.Errorf("poll answer %q: trailing data", body)
	}
	if a.Msgs == nil {
		return a, fmt.Errorf("poll answer without a msgs array: %s", body)
	}
	if a.Cursor == "" {
		return a, fmt.Errorf("poll answer without a cursor: %s", body)
	}
	for _, m := range a.Msgs {
		if m.Op != "msg" || m.Seq == 0 || m.Ts == 0 || len(m.Data) == 0 {
			return a, fmt.Errorf("bad msg in poll answer: %s", body)
		}
	}
	a.Raw = string(body)
	return a, nil
}

// doPoll performs GET /poll with net/http; safe off the test goroutine.
func doPoll(addr string, kv ...string) (pollAnswer, error) {
	resp, err := trHTTP.Get(trURL(addr, "/poll", kv...))
	if err != nil {
		return pollAnswer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return pollAnswer{}, err
	}
	if resp.StatusCode != 200 {
		return pollAnswer{}, fmt.Errorf("poll %v: status %d: %s", kv, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		return pollAnswer{}, fmt.Errorf("poll: Content-Type %q", ct)
	}
	a, err := decodePollAnswer(body)
	a.Header, a.Close = resp.Header, resp.Close
	return a, err
}

func mustPoll(t testing.TB, addr string, kv ...string) pollAnswer {
	t.Helper()
	a, err := doPoll(addr, kv...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// asyncPoll starts a poll on its own goroutine.
func asyncPoll(addr string, kv ...string) <-chan pollResult {
	done := make(chan pollResult, 1)
	go func() {
		a, err := doPoll(addr, kv...)
		done <- pollResult{a, err, time.Now()}
	}()
	return done
}

type pollResult struct {
	a    pollAnswer
	err  error
	when time.Time
}

func awaitPoll(t testing.TB, done <-chan pollResult) pollResult {
	t.Helper()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("poll not answered within 10s")
		return pollResult{}
	}
}

// trPosition is one decoded cursor position.
type trPosition struct {
	Epoch string
	Seq   uint64
}

// parseCursor decodes NAME~EPOCH~SEQ!... (docs/PROTOCOL.md), keeping order.
func parseCursor(t testing.TB, c string) ([]string, map[string]trPosition) {
	t.Helper()
	var names []string
	m := map[string]trPosition{}
	for _, part := range strings.Split(c, "!") {
		f := strings.Split(part, "~")
		if len(f) != 3 || f[0] == "" || f[1] == "" {
			t.Fatalf("bad position %q in cursor %q", part, c)
		}
		seq, err := strconv.ParseUint(f[2], 10, 64)
		if err != nil {
			t.Fatalf("bad seq in cursor %q", c)
		}
		names = append(names, f[0])
		m[f[0]] = trPosition{f[1], seq}
	}
	return names, m
}

// checkMsgs asserts msgs are channel ch, seqs from..to in order, and (when
// dataIsSeq) each data is its seq.
func checkMsgs(t testing.TB, msgs []trMsg, ch string, from, to uint64, dataIsSeq bool) {
	t.Helper()
	if uint64(len(msgs)) != to-from+1 {
		t.Fatalf("got %d msgs (%s), want seqs %d..%d", len(msgs), seqList(msgs), from, to)
	}
	for i, m := range msgs {
		want := from + uint64(i)
		if m.Ch != ch || m.Seq != want {
			t.Fatalf("msg %d is %s#%d, want %s#%d (all: %s)", i, m.Ch, m.Seq, ch, want, seqList(msgs))
		}
		if dataIsSeq && string(m.Data) != strconv.FormatUint(want, 10) {
			t.Fatalf("msg seq %d has data %s", want, m.Data)
		}
	}
}

func seqList(msgs []trMsg) string {
	var b strings.Builder
	for i, m := range msgs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(m.Seq, 10))
	}
	return b.String()
}

// errBody asserts body is a JSON err object with the given code.
func errBody(t testing.TB, body []byte, code int) {
	t.Helper()
	var e struct {
		Op     string `json:"op"`
		Code   int    `json:"code"`
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Op != "err" || e.Code != code || e.Reason == "" {
		t.Fatalf("want a JSON err with code %d, got %q", code, body)
	}
}

// trDo sends a request with net/http and returns status, header and body.
func trDo(t testing.TB, method, u string, body string, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := trHTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, u, err)
	}
	return resp.StatusCode, resp.Header, b
}

// openStreamHTTP opens a streaming response with net/http; its reads are
// bounded by a context deadline.
func openStreamHTTP(t testing.TB, u string, hdr ...string) (*http.Response, *lineReader) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp, &lineReader{br: bufio.NewReader(resp.Body)}
}

// lineReader reads '\n'-terminated lines, each under a fresh deadline when
// its source supports one.
type lineReader struct {
	br       *bufio.Reader
	deadline func(time.Time) error
}

func (lr *lineReader) line() (string, error) {
	if lr.deadline != nil {
		_ = lr.deadline(time.Now().Add(readTimeout))
	}
	s, err := lr.br.ReadString('\n')
	if err != nil {
		if s != "" && errors.Is(err, io.EOF) {
			err = fmt.Errorf("unterminated line %q: %w", s, io.ErrUnexpectedEOF)
		}
		return s, err
	}
	return s[:len(s)-1], nil
}

// head reads a response head written by curl -i (CRLF lines).
func (lr *lineReader) head() (int, textproto.MIMEHeader, error) {
	status, err := lr.line()
	if err != nil {
		return 0, nil, err
	}
	f := strings.Fields(status)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/1.1") {
		return 0, nil, fmt.Errorf("bad status line %q", status)
	}
	code, _ := strconv.Atoi(f[1])
	h := textproto.MIMEHeader{}
	for {
		l, err := lr.line()
		if err != nil {
			return 0, nil, err
		}
		l = strings.TrimSuffix(l, "\r")
		if l == "" {
			return code, h, nil
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			return 0, nil, fmt.Errorf("bad header line %q", l)
		}
		h.Add(textproto.CanonicalMIMEHeaderKey(k), strings.TrimSpace(v))
	}
}

// sseEvent is one block of an event stream (lines up to a blank line).
type sseEvent struct {
	ID, Data, Retry string
	HasID, Comment  bool
}

// event reads the next block strictly: at most one id and one data line.
func (lr *lineReader) event() (sseEvent, error) {
	var ev sseEvent
	seen := false
	for {
		l, err := lr.line()
		if err != nil {
			return ev, err
		}
		if l == "" {
			if seen {
				return ev, nil
			}
			continue
		}
		seen = true
		switch {
		case strings.HasPrefix(l, ":"):
			ev.Comment = true
		case strings.HasPrefix(l, "id: "):
			if ev.HasID {
				return ev, fmt.Errorf("two id lines in one event (%q)", l)
			}
			ev.ID, ev.HasID = l[4:], true
		case strings.HasPrefix(l, "data: "):
			if ev.Data != "" {
				return ev, fmt.Errorf("two data lines in one event (%q)", l)
			}
			ev.Data = l[6:]
		case strings.HasPrefix(l, "retry: "):
			ev.Retry = l[7:]
		default:
			return ev, fmt.Errorf("unexpected event-stream line %q", l)
		}
	}
}

// sseMsg reads past heartbeat comments to the next message event; it
// returns the event's id and its decoded msg.
func (lr *lineReader) sseMsg() (string, trMsg, error) {
	for {
		ev, err := lr.event()
		if err != nil {
			return "", trMsg{}, err
		}
		if ev.Comment && !ev.HasID && ev.Data == "" {
			continue
		}
		if !ev.HasID || ev.Data == "" || ev.Comment || ev.Retry != "" {
			return "", trMsg{}, fmt.Errorf("malformed message event %+v", ev)
		}
		var m trMsg
		if err := json.Unmarshal([]byte(ev.Data), &m); err == nil && m.Op == "epoch" {
			continue // metadata: a stream began (its id already carries the epoch)
		}
		if err := json.Unmarshal([]byte(ev.Data), &m); err != nil || m.Op != "msg" {
			return "", trMsg{}, fmt.Errorf("event data is not a msg: %q", ev.Data)
		}
		return ev.ID, m, nil
	}
}

// sseOpen reads the retry hint and the open event; it returns the cursor
// and the gap list.
func (lr *lineReader) sseOpen() (string, []string, error) {
	ev, err := lr.event()
	if err != nil {
		return "", nil, err
	}
	if ev.Retry != "2000" || ev.HasID || ev.Data != "" {
		return "", nil, fmt.Errorf("first block is not the retry hint: %+v", ev)
	}
	ev, err = lr.event()
	if err != nil {
		return "", nil, err
	}
	var open struct {
		Op     string   `json:"op"`
		Cursor string   `json:"cursor"`
		Gap    []string `json:"gap"`
	}
	if err := json.Unmarshal([]byte(ev.Data), &open); err != nil || open.Op != "open" || !ev.HasID || ev.ID != open.Cursor {
		return "", nil, fmt.Errorf("bad open event %+v", ev)
	}
	return open.Cursor, open.Gap, nil
}

// rawGet writes a GET request on a raw connection.
func (r *rawConn) get(target string, hdr ...string) {
	r.t.Helper()
	var b strings.Builder
	b.WriteString("GET " + target + " HTTP/1.1\r\nHost: test\r\n")
	for i := 0; i+1 < len(hdr); i += 2 {
		b.WriteString(hdr[i] + ": " + hdr[i+1] + "\r\n")
	}
	b.WriteString("\r\n")
	r.write([]byte(b.String()))
}

// lines returns a line reader over the raw connection, with deadlines.
func (r *rawConn) lines() *lineReader {
	return &lineReader{br: r.br, deadline: r.c.SetReadDeadline}
}

// streamHead reads a streaming response's head on a raw connection.
func (r *rawConn) streamHead() (int, textproto.MIMEHeader) {
	r.t.Helper()
	code, h, err := r.lines().head()
	if err != nil {
		r.t.Fatalf("response head: %v", err)
	}
	return code, h
}

// fullResponse reads one complete response with its headers.
func (r *rawConn) fullResponse() (*http.Response, string) {
	r.t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(readTimeout))
	resp, err := http.ReadResponse(r.br, nil)
	if err != nil {
		r.t.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatalf("read body: %v", err)
	}
	return resp, string(b)
}

// errLastChunk reports the end of a chunked body.
var errLastChunk = errors.New("last chunk")

// chunk reads one chunk of a chunked body by hand (RFC 9112 §7.1): size
// line, data, CRLF. The last chunk (size 0) must be followed by the final
// CRLF (no trailers) and returns errLastChunk.
func (lr *lineReader) chunk() ([]byte, error) {
	size, err := lr.line()
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(size, "\r") {
		return nil, fmt.Errorf("chunk size line %q not CRLF-terminated", size)
	}
	n, err := strconv.ParseUint(strings.TrimSuffix(size, "\r"), 16, 32)
	if err != nil {
		return nil, fmt.Errorf("bad chunk size line %q", size)
	}
	if n == 0 {
		end, err := lr.line()
		if err != nil || end != "\r" {
			return nil, fmt.Errorf("after the last chunk: %q %v", end, err)
		}
		return nil, errLastChunk
	}
	if lr.deadline != nil {
		_ = lr.deadline(time.Now().Add(readTimeout))
	}
	data := make([]byte, n+2)
	if _, err := io.ReadFull(lr.br, data); err != nil {
		return nil, err
	}
	if string(data[n:]) != "\r\n" {
		return nil, fmt.Errorf("chunk of %d bytes not followed by CRLF: %q", n, data)
	}
	return data[:n], nil
}

// ndjson reads one chunk and checks it holds exactly one JSON line.
func (lr *lineReader) ndjson() (map[string]any, []byte, error) {
	c, err := lr.chunk()
	if err != nil {
		return nil, nil, err
	}
	if bytes.IndexByte(c, '\n') != len(c)-1 {
		return nil, nil, fmt.Errorf("chunk is not one line: %q", c)
	}
	var m map[string]any
	if err := json.Unmarshal(c, &m); err != nil {
		return nil, nil, fmt.Errorf("chunk is not JSON: %q", c)
	}
	return m, c[:len(c)-1], nil
}

// streamMsg reads past {"op":"hb"} lines to the next msg.
func (lr *lineReader) streamMsg(next func() (map[string]any, []byte, error)) (trMsg, error) {
	for {
		m, raw, err := next()
		if err != nil {
			return trMsg{}, err
		}
		if m["op"] == "hb" || m["op"] == "epoch" {
			continue
		}
		var msg trMsg
		if err := json.Unmarshal(raw, &msg); err != nil || msg.Op != "msg" {
			return trMsg{}, fmt.Errorf("stream line is not a msg: %s", raw)
		}
		return msg, nil
	}
}

// ndjsonLine reads one line of a de-chunked body (net/http's reader).
func (lr *lineReader) ndjsonLine() (map[string]any, []byte, error) {
	l, err := lr.line()
	if err != nil {
		return nil, nil, err
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(l), &m); err != nil {
		return nil, nil, fmt.Errorf("stream line is not JSON: %q", l)
	}
	return m, []byte(l), nil
}

// iframeReader checks the forever-frame's markup as it reads it.
type iframeReader struct {
	lr      *lineReader
	cb      string
	html    strings.Builder // every byte of the body read so far
	scripts int
	hbs     int
}

// readHead reads the page head and its padding.
func (ir *iframeReader) readHead() error {
	l, err := ir.lr.line()
	if err != nil {
		return err
	}
	ir.html.WriteString(l + "\n")
	if !strings.HasPrefix(l, "<!DOCTYPE html>") || !strings.HasSuffix(l, "<body>") {
		return fmt.Errorf("iframe page starts with %q", l)
	}
	l, err = ir.lr.line()
	if err != nil {
		return err
	}
	ir.html.WriteString(l + "\n")
	pad, opened := strings.CutPrefix(l, "<!--")
	pad, closed := strings.CutSuffix(pad, "-->")
	if !opened || !closed || len(pad) < 1024 || strings.TrimLeft(pad, " ") != "" {
		return fmt.Errorf("no 1 KiB padding comment after the head: %q", l)
	}
	return nil
}

// next returns the JSON argument of the next script element, skipping
// heartbeat comments. Every element must be exactly
// <script>parent.CB(JSON);</script> with a JSON that holds no '<' at all,
// so the HTML tokenizer's script data ends exactly at our closing tag and
// never enters the escaped states that "<!--" would start.
func (ir *iframeReader) next() ([]byte, error) {
	for {
		l, err := ir.lr.line()
		if err != nil {
			return nil, err
		}
		ir.html.WriteString(l + "\n")
		if l == "<!-- hb -->" {
			ir.hbs++
			continue
		}
		open := "<script>parent." + ir.cb + "("
		body, ok := strings.CutPrefix(l, open)
		if ok {
			body, ok = strings.CutSuffix(body, ");</script>")
		}
		if !ok {
			return nil, fmt.Errorf("not a script element calling parent.%s: %q", ir.cb, l)
		}
		if end := strings.Index(strings.ToLower(l), "</script"); end != len(l)-len("</script>") {
			return nil, fmt.Errorf("script data ends early, at byte %d: %q", end, l)
		}
		if strings.ContainsAny(body, "<>&\u2028\u2029") {
			return nil, fmt.Errorf("unescaped character in script data: %q", body)
		}
		if !json.Valid([]byte(body)) {
			return nil, fmt.Errorf("script argument is not JSON: %q", body)
		}
		ir.scripts++
		return []byte(body), nil
	}
}

// heartbeat reads up to the next heartbeat comment; nothing else may come
// first.
func (ir *iframeReader) heartbeat() error {
	l, err := ir.lr.line()
	if err != nil {
		return err
	}
	ir.html.WriteString(l + "\n")
	if l != "<!-- hb -->" {
		return fmt.Errorf("want a heartbeat comment, got %q", l)
	}
	ir.hbs++
	return nil
}

// msg returns the next msg, past epoch events.
func (ir *iframeReader) msg() (trMsg, error) {
	for {
		b, err := ir.next()
		if err != nil {
			return trMsg{}, err
		}
		var m trMsg
		if err := json.Unmarshal(b, &m); err == nil && m.Op == "epoch" {
			continue
		}
		if err := json.Unmarshal(b, &m); err != nil || m.Op != "msg" {
			return trMsg{}, fmt.Errorf("script argument is not a msg: %s", b)
		}
		return m, nil
	}
}

// open returns the cursor of the open call.
func (ir *iframeReader) open() (string, error) {
	b, err := ir.next()
	if err != nil {
		return "", err
	}
	var o struct {
		Op, Cursor string
	}
	if err := json.Unmarshal(b, &o); err != nil || o.Op != "open" || o.Cursor == "" {
		return "", fmt.Errorf("first script is not the open event: %s", b)
	}
	return o.Cursor, nil
}

// requireCurl returns curl's path, failing loudly when it is missing: the
// tests promise an independent client.
func requireCurl(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("curl")
	if err != nil {
		t.Fatalf("curl is required by the HTTP transport tests (apt-get install curl): %v", err)
	}
	return p
}

// curlResult is what one complete curl request saw.
type curlResult struct {
	Status int
	Header textproto.MIMEHeader
	Body   string
}

// runCurl runs curl to completion; extra are curl arguments (the URL
// among them). Off the test goroutine it reports through err.
func runCurl(curl, dir string, extra ...string) (curlResult, error) {
	var res curlResult
	hdrFile := filepath.Join(dir, fmt.Sprintf("h%d", time.Now().UnixNano()))
	bodyFile := hdrFile + ".body"
	args := append([]string{"-sS", "--max-time", "15", "-D", hdrFile, "-o", bodyFile, "-w", "%{http_code}"}, extra...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, curl, args...).CombinedOutput()
	if err != nil {
		return res, fmt.Errorf("curl %v: %v: %s", extra, err, out)
	}
	res.Status, _ = strconv.Atoi(strings.TrimSpace(string(out)))
	h, err := os.ReadFile(hdrFile)
	if err != nil {
		return res, err
	}
	lr := &lineReader{br: bufio.NewReader(bytes.NewReader(h))}
	if _, res.Header, err = lr.head(); err != nil {
		return res, err
	}
	b, err := os.ReadFile(bodyFile)
	if err != nil && !errors.Is(err, os.ErrNotExist) { // no body: no file
		return res, err
	}
	res.Body = string(b)
	return res, nil
}

func mustCurl(t testing.TB, extra ...string) curlResult {
	t.Helper()
	r, err := runCurl(requireCurl(t), t.TempDir(), extra...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// curlStream runs curl -N and reads its output as it streams.
type curlStream struct {
	*lineReader
	cmd *exec.Cmd
}

func startCurlStream(t testing.TB, extra ...string) *curlStream {
	t.Helper()
	curl := requireCurl(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-sS", "-N", "-i", "--max-time", "30"}, extra...)
	cmd := exec.Command(curl, args...)
	cmd.Stdout = pw
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		pr.Close()
	})
	return &curlStream{lineReader: &lineReader{br: bufio.NewReader(pr), deadline: pr.SetReadDeadline}, cmd: cmd}
}

// blockLoops parks every event loop of srv inside a task until release is
// called (also at cleanup), so that publishes pile up in the mailboxes.
func blockLoops(t testing.TB, srv *Server) (release func()) {
	t.Helper()
	loops := *srv.loops.Load()
	started := make(chan struct{}, len(loops))
	gate := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release)
	for _, l := range loops {
		err := l.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
			started <- struct{}{}
			<-gate
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
	}
	for range loops {
		select {
		case <-started:
		case <-time.After(readTimeout):
			t.Fatal("event loop did not run the blocking task")
		}
	}
	return release
}

// canonJSON re-encodes a JSON value so equal values compare equal as text.
func canonJSON(b []byte) string {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return "invalid:" + string(b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}
