package bench

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// This file holds the subscribers for the plain-HTTP transports: Comet's
// (docs/PROTOCOL.md, "HTTP transports"), nchan's EventSource and long-poll,
// and Centrifugo's unidirectional SSE.

// startSSE sends GET target (a path and query) and checks the response
// head; readSSE reads the events. What confirms the subscription depends on
// the server: Comet's "open" event, nchan's first comment, Centrifugo's
// "connect" event.
func (s *Sub) startSSE(addr, target string) error {
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n", target, addr)
	if _, err := io.WriteString(s.conn, req); err != nil {
		return err
	}
	s.rd = bufio.NewReaderSize(s.conn, 2048)
	resp, err := http.ReadResponse(s.rd, nil)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("bench: sse status %d", resp.StatusCode)
	}
	// net/http undoes any chunked encoding; keep reading through it.
	s.rd = bufio.NewReaderSize(resp.Body, 2048)
	return nil
}

func (s *Sub) readSSE() {
	for {
		line, err := s.rd.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
		if data, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			s.handle(bytes.TrimSpace(data), time.Now().UnixNano())
		} else if len(line) > 0 && line[0] == ':' && s.proto == ProtoNchanSSE {
			s.signal(nil) // nchan's ": hi" once it has the subscriber
		}
	}
}

// pollHold is how long one long-poll may stay parked before the harness
// gives up on the connection (the server's default hold is 25 s).
const pollHold = 40 * time.Second

// startPoll takes a cursor with a short poll (wait=0): "from now" on ch.
func (s *Sub) startPoll(addr, ch string) error {
	s.pollAddr = addr
	s.rd = bufio.NewReaderSize(s.conn, 4096)
	body, err := s.poll("ch=" + url.QueryEscape(ch) + "&wait=0")
	if err != nil {
		return err
	}
	return s.takeCursor(body)
}

// poll sends one GET /poll?query on the keep-alive connection and returns
// the answer's body.
func (s *Sub) poll(query string) ([]byte, error) {
	req := "GET /poll?" + query + " HTTP/1.1\r\nHost: " + s.pollAddr + "\r\n\r\n"
	if _, err := io.WriteString(s.conn, req); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(s.rd, nil)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxFrame))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("bench: poll status %d: %s", resp.StatusCode, bytes.TrimSpace(body))
	}
	if resp.Close {
		return body, errors.New("bench: poll: server closed the connection")
	}
	return body, nil
}

// takeCursor stores the answer's "cursor" for the next poll.
func (s *Sub) takeCursor(body []byte) error {
	const key = `"cursor":"`
	i := bytes.Index(body, []byte(key))
	if i < 0 {
		return fmt.Errorf("bench: poll answer without cursor: %.200s", body)
	}
	rest := body[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return errors.New("bench: poll: unterminated cursor")
	}
	s.cursor = string(rest[:j])
	return nil
}

// readPoll long-polls until the connection ends, delivering every message
// of every answer. Each iteration is bounded by pollHold.
func (s *Sub) readPoll() {
	for {
		_ = s.conn.SetReadDeadline(time.Now().Add(pollHold))
		body, err := s.poll("cursor=" + url.QueryEscape(s.cursor))
		if err != nil {
			return
		}
		now := time.Now().UnixNano()
		// Each message starts with {"op":"msg"; the payload is ours and
		// holds no such text, so splitting there is exact.
		marker := []byte(`{"op":"msg"`)
		for i := bytes.Index(body, marker); i >= 0; {
			next := bytes.Index(body[i+1:], marker)
			end := len(body)
			if next >= 0 {
				end = i + 1 + next
			}
			s.deliver(body[i:end], now, `"seq":`)
			if next < 0 {
				break
			}
			i = end
		}
		if err := s.takeCursor(body); err != nil {
			return
		}
	}
}

// nchanPollTimeout is how long nchan parks a long-poll before answering 408
// (nchan_subscriber_timeout in bench/peers/nchan.conf.tmpl); it must stay
// below pollHold.
const nchanPollTimeout = 30 * time.Second

// startNchanPoll sends the first long-poll of /poll/<ch>. It has no cursor:
// the location starts new subscribers at the oldest buffered message, and
// the channel is new, so a request that reaches nchan after a publish still
// gets that message.
func (s *Sub) startNchanPoll(addr, ch string) error {
	s.pollAddr, s.pollPath = addr, "/poll/"+ch
	s.rd = bufio.NewReaderSize(s.conn, 4096)
	return s.sendNchanPoll()
}

func (s *Sub) sendNchanPoll() error {
	req := "GET " + s.pollPath + " HTTP/1.1\r\nHost: " + s.pollAddr + "\r\n"
	if s.modified != "" {
		req += "If-Modified-Since: " + s.modified + "\r\nIf-None-Match: " + s.etag + "\r\n"
	}
	_, err := io.WriteString(s.conn, req+"\r\n")
	return err
}

// readNchanPoll reads one answer per poll until the connection ends: a 200
// carries one message and the cursor of the next, a 304 or 408 (nchan's
// timeout) asks again with the same cursor. Each poll is bounded by
// pollHold.
func (s *Sub) readNchanPoll() {
	for {
		_ = s.conn.SetReadDeadline(time.Now().Add(pollHold))
		resp, err := http.ReadResponse(s.rd, nil)
		if err != nil {
			return
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxFrame))
		resp.Body.Close()
		if err != nil || resp.Close {
			return
		}
		switch resp.StatusCode {
		case http.StatusOK:
			s.deliver(body, time.Now().UnixNano(), "")
			s.modified, s.etag = resp.Header.Get("Last-Modified"), resp.Header.Get("Etag")
		case http.StatusNotModified, http.StatusRequestTimeout:
		default:
			return
		}
		if err := s.sendNchanPoll(); err != nil {
			return
		}
	}
}

// centrifugoToken is a Centrifugo connection JWT (RFC 7519, HS256) for an
// anonymous user subscribed server-side to ch, which is how a
// unidirectional client gets a channel.
func centrifugoToken(secret, ch string) string {
	enc := base64.RawURLEncoding
	head := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims, _ := json.Marshal(map[string]any{"sub": "", "channels": []string{ch}})
	signed := head + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(signed))
	return signed + "." + enc.EncodeToString(mac.Sum(nil))
}
