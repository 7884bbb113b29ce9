package testredis

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// Error is an error reply of Redis (a RESP "-" line), for example
// "ERR unknown command" or "LOADING Redis is loading the dataset".
type Error string

func (e Error) Error() string { return "testredis: redis: " + string(e) }

// maxReply bounds a bulk reply and an array, so a confused peer cannot make
// a test allocate without bound.
const maxReply = 64 << 20

// do runs one command on a new connection to addr and returns its reply:
// a string for simple and bulk strings, an int64 for integers, []any for
// arrays, nil for a null reply, and an Error for an error reply. A new
// connection per command keeps the helper free of state; tests call it
// for control commands, not in hot loops.
func do(addr, password string, tlsConf *tls.Config, timeout time.Duration, args ...string) (any, error) {
	d := &net.Dialer{Timeout: timeout}
	var c net.Conn
	var err error
	if tlsConf != nil {
		c, err = tls.DialWithDialer(d, "tcp", addr, tlsConf)
	} else {
		c, err = d.Dial("tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	r := bufio.NewReader(c)
	if password != "" {
		if _, err := roundTrip(c, r, "AUTH", password); err != nil {
			return nil, err
		}
	}
	return roundTrip(c, r, args...)
}

func roundTrip(w io.Writer, r *bufio.Reader, args ...string) (any, error) {
	buf := fmt.Appendf(nil, "*%d\r\n", len(args))
	for _, a := range args {
		buf = fmt.Appendf(buf, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := w.Write(buf); err != nil {
		return nil, err
	}
	v, err := readReply(r, 0)
	if err != nil {
		return nil, err
	}
	if e, ok := v.(Error); ok {
		return nil, e
	}
	return v, nil
}

// readReply reads one RESP2 reply. Nested error replies inside an array
// stay values (an EXEC may hold some).
func readReply(r *bufio.Reader, depth int) (any, error) {
	if depth > 8 {
		return nil, errors.New("testredis: reply nested too deep")
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("testredis: bad reply line %q", line)
	}
	kind, body := line[0], line[1:len(line)-2]
	switch kind {
	case '+':
		return body, nil
	case '-':
		return Error(body), nil
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n > maxReply {
			return nil, fmt.Errorf("testredis: bad bulk length %q", body)
		}
		if n < 0 {
			return nil, nil
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		return string(b[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil || n > maxReply {
			return nil, fmt.Errorf("testredis: bad array length %q", body)
		}
		if n < 0 {
			return nil, nil
		}
		a := make([]any, n)
		for i := range a {
			if a[i], err = readReply(r, depth+1); err != nil {
				return nil, err
			}
		}
		return a, nil
	}
	return nil, fmt.Errorf("testredis: unknown reply type %q", kind)
}
