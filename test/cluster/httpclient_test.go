//go:build unix

package cluster

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// httpClient is a client of its own (its own connection pool), so that
// subscribers are independent of each other and of the publishers.
func httpClient(tlsConf *tls.Config) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second, TLSClientConfig: tlsConf.Clone(),
		ForceAttemptHTTP2: tlsConf != nil, ResponseHeaderTimeout: 60 * time.Second}
	return &http.Client{Transport: tr}
}

// parseCursor splits a cursor (NAME~EPOCH~SEQ!...) into positions.
func parseCursor(c string) (map[string]position, error) {
	out := map[string]position{}
	if c == "" {
		return out, nil
	}
	for _, p := range strings.Split(c, "!") {
		f := strings.Split(p, "~")
		if len(f) != 3 {
			return nil, fmt.Errorf("bad position %q in cursor %q", p, c)
		}
		seq, err := strconv.ParseUint(f[2], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bad seq in cursor %q", c)
		}
		out[f[0]] = position{epoch: f[1], seq: seq}
	}
	return out, nil
}

// httpSub is a subscriber on one of the HTTP transports. A poller sends
// each next poll with the cursor of the last answer; a streaming client
// (SSE, chunked stream, iframe) resumes after any end of its response from
// where it was: with Last-Event-ID for SSE, with ch=NAME~EPOCH~SEQ
// positions for the others. Every request goes to the base its target
// names then.
type httpSub struct {
	rec      *record
	kind     string // poll, sse, stream, iframe
	target   target
	channels []string
	client   *http.Client
	query    string // extra query parameters (a token), starting with &
	// rotateEvery, for streams, ends the response after this many
	// deliveries, so that the next request lands elsewhere.
	rotateEvery int

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	pos     map[string]position
	cursor  string // poll: the last answer's; sse: the last event's id
	started bool
	ready   chan struct{} // closed once the first response began
	bases   map[string]int
}

type httpOptions struct {
	tls         *tls.Config
	query       string
	rotateEvery int
	// from, when set, starts the channels at these positions instead of
	// now.
	from map[string]position
}

// subscribeHTTP starts a subscriber of kind on channels and returns once
// the node has answered its first request (for a poll: a wait=0 poll that
// returned the channels' positions; for a stream: its open event), so that
// everything published afterwards must reach it.
func subscribeHTTP(t *testing.T, kind, name string, tg target, channels []string, o httpOptions) *httpSub {
	t.Helper()
	s := &httpSub{rec: newRecord(name), kind: kind, target: tg, channels: channels, client: httpClient(o.tls),
		query: o.query, rotateEvery: o.rotateEvery, pos: map[string]position{}, done: make(chan struct{}),
		ready: make(chan struct{}), bases: map[string]int{}}
	for ch, p := range o.from {
		s.pos[ch] = p
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if kind == "poll" {
		if err := s.firstPoll(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		close(s.ready)
		go s.pollLoop()
	} else {
		go s.streamLoop()
		select {
		case <-s.ready:
		case <-time.After(20 * time.Second):
			s.cancel()
			t.Fatalf("%s: no open event within 20 s", name)
		}
	}
	t.Cleanup(s.close)
	return s
}

func (s *httpSub) close() {
	s.cancel()
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
	}
	s.client.CloseIdleConnections()
}

// Bases counts the requests sent to each base URL.
func (s *httpSub) Bases() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.bases {
		out[k] = v
	}
	return out
}

func (s *httpSub) get(path string, header http.Header) (*http.Response, error) {
	base := s.target()
	s.mu.Lock()
	s.bases[base]++
	s.mu.Unlock()
	req, err := http.NewRequestWithContext(s.ctx, "GET", base+path, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return s.client.Do(req)
}

// channelQuery names the channels, each at its position when it has one.
func (s *httpSub) channelQuery() string {
	var q []string
	for _, ch := range s.channels {
		if p, ok := s.pos[ch]; ok {
			q = append(q, "ch="+url.QueryEscape(fmt.Sprintf("%s~%s~%d", ch, p.epoch, p.seq)))
		} else {
			q = append(q, "ch="+url.QueryEscape(ch))
		}
	}
	return strings.Join(q, "&")
}

// pollAnswer is a poll's JSON answer.
type pollAnswer struct {
	Cursor string  `json:"cursor"`
	Msgs   []event `json:"msgs"`
	Gap    []string
}

func (s *httpSub) poll(path string) (pollAnswer, error) {
	var a pollAnswer
	resp, err := s.get(path, nil)
	if err != nil {
		return a, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return a, err
	}
	if resp.StatusCode != 200 {
		return a, fmt.Errorf("GET %s: %s %s", path, resp.Status, bytes.TrimSpace(body))
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return a, fmt.Errorf("poll answer %q: %w", body, err)
	}
	if a.Cursor == "" {
		return a, fmt.Errorf("poll answer without a cursor: %s", body)
	}
	return a, nil
}

// firstPoll asks for the channels' positions now (wait=0), so that the
// poller's cursor predates every publish of the test.
func (s *httpSub) firstPoll() error {
	a, err := s.poll("/poll?" + s.channelQuery() + "&wait=0" + s.query)
	if err != nil {
		return err
	}
	s.took(a)
	return nil
}

func (s *httpSub) took(a pollAnswer) {
	for _, m := range a.Msgs {
		s.rec.add(m.Ch, m.Seq, m.Data)
	}
	if len(a.Gap) > 0 {
		s.rec.anomaly("poll answered with gap %v", a.Gap)
	}
	s.mu.Lock()
	s.cursor = a.Cursor
	s.mu.Unlock()
}

// pollLoop long-polls with the last cursor until close; a failed poll is
// sent again, with the same cursor, to the next base.
func (s *httpSub) pollLoop() {
	defer close(s.done)
	failedSince := time.Time{}
	for attempt := 0; s.ctx.Err() == nil; {
		s.mu.Lock()
		cursor := s.cursor
		s.mu.Unlock()
		a, err := s.poll("/poll?cursor=" + url.QueryEscape(cursor) + "&wait=5" + s.query)
		if err == nil {
			if !failedSince.IsZero() {
				s.rec.reconnected()
			}
			failedSince, attempt = time.Time{}, 0
			s.took(a)
			continue
		}
		if s.ctx.Err() != nil {
			return
		}
		if failedSince.IsZero() {
			failedSince = time.Now()
		} else if time.Since(failedSince) > reconnectDeadline {
			s.rec.anomaly("polls failing for %s: %v", reconnectDeadline, err)
			return
		}
		select {
		case <-s.ctx.Done():
		case <-time.After(backoff(attempt)):
		}
		attempt++
	}
}

// streamLoop opens the stream, reads it until it ends, and opens it again
// from the positions, until close.
func (s *httpSub) streamLoop() {
	defer close(s.done)
	failedSince := time.Time{}
	for attempt := 0; s.ctx.Err() == nil; {
		n, err := s.stream()
		if s.ctx.Err() != nil {
			return
		}
		if n > 0 || err == nil {
			failedSince, attempt = time.Time{}, 0
		} else if failedSince.IsZero() {
			failedSince = time.Now()
		} else if time.Since(failedSince) > reconnectDeadline {
			s.rec.anomaly("stream failing for %s: %v", reconnectDeadline, err)
			return
		}
		if n == 0 && err != nil {
			select {
			case <-s.ctx.Done():
			case <-time.After(backoff(attempt)):
			}
			attempt++
		}
		s.rec.reconnected()
	}
}

// streamPath is the request of the next stream: its channels with their
// positions (stream, iframe), or plain channels and Last-Event-ID (SSE).
func (s *httpSub) streamPath() (string, http.Header) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := http.Header{}
	q := s.channelQuery()
	if s.kind == "sse" && s.cursor != "" {
		// The browser's way: plain channels, the position in the header.
		var plain []string
		for _, ch := range s.channels {
			plain = append(plain, "ch="+url.QueryEscape(ch))
		}
		q = strings.Join(plain, "&")
		h.Set("Last-Event-ID", s.cursor)
	}
	path := "/" + s.kind + "?" + q
	if s.kind == "iframe" {
		path += "&cb=__comet1"
	}
	return path + s.query, h
}

// stream runs one streaming response; it returns the events it handled.
func (s *httpSub) stream() (int, error) {
	path, h := s.streamPath()
	resp, err := s.get(path, h)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return 0, fmt.Errorf("GET %s: %s %s", path, resp.Status, bytes.TrimSpace(b))
	}
	events, deliveries := 0, 0
	emit := func(id string, data []byte) bool {
		var ev event
		if err := json.Unmarshal(data, &ev); err != nil {
			s.rec.anomaly("%s event is not JSON: %q", s.kind, data)
			return false
		}
		events++
		if s.handle(ev, id) {
			deliveries++
		}
		return ev.Op != "close" && (s.rotateEvery == 0 || deliveries < s.rotateEvery)
	}
	rd := bufio.NewReaderSize(resp.Body, 64<<10)
	switch s.kind {
	case "sse":
		err = readSSE(rd, emit)
	case "stream":
		err = readLines(rd, emit)
	case "iframe":
		err = readIframe(rd, "__comet1", emit)
	}
	return events, err
}

// handle applies one stream event; it reports whether it was a delivery.
func (s *httpSub) handle(ev event, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id != "" {
		s.cursor = id
	}
	switch ev.Op {
	case "open":
		pos, err := parseCursor(ev.Cursor)
		if err != nil {
			s.rec.anomaly("%v", err)
		}
		for ch, p := range pos {
			if cur, ok := s.pos[ch]; !ok {
				s.pos[ch] = p
			} else if cur.epoch == "" || cur.epoch != p.epoch && cur.seq == 0 {
				cur.epoch = p.epoch
				s.pos[ch] = cur
			}
		}
		if len(ev.Gap) > 0 {
			s.rec.anomaly("open with gap %v", ev.Gap)
		}
		if !s.started {
			s.started = true
			close(s.ready)
		}
	case "epoch":
		p := s.pos[ev.Ch]
		p.epoch = ev.Epoch
		s.pos[ev.Ch] = p
	case "msg":
		if ev.Seq == 0 {
			return false
		}
		p := s.pos[ev.Ch]
		p.seq = ev.Seq
		s.pos[ev.Ch] = p
		s.rec.add(ev.Ch, ev.Seq, ev.Data)
		return true
	case "close", "hb":
	default:
		s.rec.anomaly("unexpected %s event %+v", s.kind, ev)
	}
	return false
}

// readSSE reads text/event-stream events (WHATWG HTML §9.2.6) and calls
// emit with each event's id and data until emit says stop or the stream
// ends.
func readSSE(rd *bufio.Reader, emit func(id string, data []byte) bool) error {
	var id string
	var data []byte
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			return err
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
			if data != nil {
				if !emit(id, data) {
					return nil
				}
			}
			id, data = "", nil
		case strings.HasPrefix(line, "id:"):
			id = strings.TrimPrefix(strings.TrimPrefix(line, "id:"), " ")
		case strings.HasPrefix(line, "data:"):
			data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")...)
		}
	}
}

// readLines reads newline-delimited JSON.
func readLines(rd *bufio.Reader, emit func(id string, data []byte) bool) error {
	for {
		line, err := rd.ReadBytes('\n')
		if err != nil {
			return err
		}
		if line = bytes.TrimSpace(line); len(line) > 0 && !emit("", line) {
			return nil
		}
	}
}

// readIframe reads the forever-frame's script elements,
// <script>parent.CB(EVENT);</script>, skipping the padding and the
// heartbeat comments around them.
func readIframe(rd *bufio.Reader, cb string, emit func(id string, data []byte) bool) error {
	const end = ");</script>"
	start := []byte("<script>parent." + cb + "(")
	var buf []byte
	for {
		chunk, err := rd.ReadSlice('>')
		buf = append(buf, chunk...)
		if err != nil && err != bufio.ErrBufferFull {
			return err
		}
		if !bytes.HasSuffix(buf, []byte(end)) {
			if len(buf) > 1<<20 {
				return fmt.Errorf("iframe: no script end in 1 MiB")
			}
			continue
		}
		i := bytes.LastIndex(buf, start)
		if i < 0 {
			return fmt.Errorf("iframe: script without the callback: %q", buf)
		}
		if !emit("", buf[i+len(start):len(buf)-len(end)]) {
			return nil
		}
		buf = buf[:0]
	}
}
