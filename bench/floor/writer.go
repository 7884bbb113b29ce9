package floor

import (
	"errors"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// maxBacklog is how many frames a subscriber whose socket is full may have
// queued before the floor drops it as a slow consumer.
const maxBacklog = 1 << 16

// writer is the one thread that owns every subscriber socket. Handshake and
// publisher goroutines give it work through queue and wake it with an
// eventfd; it waits in epoll_wait on that eventfd and on the sockets that
// have frames queued.
type writer struct {
	epfd, evfd int
	done       chan struct{}

	mu      sync.Mutex
	queue   []request // guarded by mu
	stopped bool      // guarded by mu

	// Owned by the writer thread.
	channels map[string]*channel
	byFD     map[int32]*sub // sockets registered for EPOLLOUT
	spare    []request

	subscribers, blocked, dropped atomic.Int64
}

// writerStats are the writer's counters.
type writerStats struct {
	// Subscribers is the number of subscriptions taken.
	Subscribers int64
	// Blocked counts the writes that found a socket full (EAGAIN or a
	// partial write), after which the socket's frames were queued.
	Blocked int64
	// Dropped counts subscribers closed: write errors and slow consumers.
	Dropped int64
}

type channel struct {
	seq  int64
	subs []*sub
}

// sub is one subscriber socket. backlog holds frames (shared with every
// other subscriber of the message) not yet written, oldest first; off is how
// much of backlog[0] is already written.
type sub struct {
	fd      int
	backlog [][]byte
	off     int
	dead    bool
}

// request is one piece of work for the writer thread.
type request struct {
	join  bool
	fd    int // join: the subscriber's socket
	ch    string
	id    string // join: the sub command's id
	data  []byte // publish: the message (JSON)
	reply chan int64
}

func newWriter() (*writer, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	evfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(evfd)}); err != nil {
		unix.Close(epfd)
		unix.Close(evfd)
		return nil, err
	}
	w := &writer{epfd: epfd, evfd: evfd, done: make(chan struct{}), channels: map[string]*channel{}, byFD: map[int32]*sub{}}
	go w.run()
	return w, nil
}

// enqueue hands r to the writer thread; false once the writer has stopped.
func (w *writer) enqueue(r request) bool {
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return false
	}
	w.queue = append(w.queue, r)
	w.mu.Unlock()
	one := [8]byte{1}
	_, _ = unix.Write(w.evfd, one[:])
	return true
}

// publish queues data for channel ch and returns its sequence number once
// the writer has taken it (before its fan-out).
func (w *writer) publish(ch string, data []byte) (int64, bool) {
	reply := make(chan int64, 1)
	if !w.enqueue(request{ch: ch, data: data, reply: reply}) {
		return 0, false
	}
	select {
	case seq := <-reply:
		return seq, true
	case <-w.done:
		return 0, false
	}
}

// join gives the writer a subscriber socket for channel ch; the writer
// answers the sub command on it. False when the writer has stopped (the
// caller still owns fd).
func (w *writer) join(fd int, ch, id string) bool {
	return w.enqueue(request{join: true, fd: fd, ch: ch, id: id})
}

// stop ends the writer thread and closes every socket; idempotent.
func (w *writer) stop() {
	w.mu.Lock()
	first := !w.stopped
	w.stopped = true
	w.mu.Unlock()
	if first {
		one := [8]byte{1}
		_, _ = unix.Write(w.evfd, one[:])
	}
	<-w.done
}

func (w *writer) snapshot() writerStats {
	return writerStats{Subscribers: w.subscribers.Load(), Blocked: w.blocked.Load(), Dropped: w.dropped.Load()}
}

func (w *writer) run() {
	runtime.LockOSThread()
	defer close(w.done)
	defer w.closeAll()
	events := make([]unix.EpollEvent, 256)
	for {
		n, err := unix.EpollWait(w.epfd, events, -1)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return
		}
		for _, ev := range events[:n] {
			if int(ev.Fd) == w.evfd {
				var b [8]byte
				_, _ = unix.Read(w.evfd, b[:])
			} else if s := w.byFD[ev.Fd]; s != nil {
				w.flush(s)
			}
		}
		w.mu.Lock()
		q, stopped := w.queue, w.stopped
		w.queue = w.spare[:0]
		w.mu.Unlock()
		for i := range q {
			w.handle(&q[i])
			q[i] = request{}
		}
		w.spare = q[:0]
		if stopped {
			return
		}
	}
}

func (w *writer) channel(name string) *channel {
	ch := w.channels[name]
	if ch == nil {
		ch = &channel{}
		w.channels[name] = ch
	}
	return ch
}

func (w *writer) handle(r *request) {
	ch := w.channel(r.ch)
	if r.join {
		s := &sub{fd: r.fd}
		ch.subs = append(ch.subs, s)
		w.subscribers.Add(1)
		reply := append([]byte(`{"op":"sub","id":`), strconv.Quote(r.id)...)
		reply = append(reply, `,"ch":`...)
		reply = strconv.AppendQuote(reply, r.ch)
		reply = append(reply, `,"seq":`...)
		reply = strconv.AppendInt(reply, ch.seq, 10)
		reply = append(reply, '}')
		if !w.send(s, appendFrame(nil, reply)) {
			w.drop(s)
		}
		return
	}
	ch.seq++
	r.reply <- ch.seq
	msg := append([]byte(`{"op":"msg","ch":`), strconv.Quote(r.ch)...)
	msg = append(msg, `,"seq":`...)
	msg = strconv.AppendInt(msg, ch.seq, 10)
	msg = append(msg, `,"ts":`...)
	msg = strconv.AppendInt(msg, time.Now().UnixMilli(), 10)
	msg = append(msg, `,"data":`...)
	msg = append(msg, r.data...)
	msg = append(msg, '}')
	w.fanout(ch, appendFrame(nil, msg))
}

// fanout is the floor: the same bytes, one write(2) per subscriber.
func (w *writer) fanout(ch *channel, frame []byte) {
	live := ch.subs[:0]
	for _, s := range ch.subs {
		if s.dead {
			continue
		}
		if !w.send(s, frame) {
			w.drop(s)
			continue
		}
		live = append(live, s)
	}
	clear(ch.subs[len(live):])
	ch.subs = live
}

// send writes frame to s, or queues it behind the frames s already has
// queued; false when the socket failed or s is too far behind.
func (w *writer) send(s *sub, frame []byte) bool {
	if len(s.backlog) > 0 {
		if len(s.backlog) >= maxBacklog {
			return false
		}
		s.backlog = append(s.backlog, frame)
		return true
	}
	for attempt := 0; attempt < 8; attempt++ { // EINTR retries
		n, err := unix.Write(s.fd, frame)
		switch {
		case err == nil && n == len(frame):
			return true
		case err == nil || errors.Is(err, unix.EAGAIN):
			w.blocked.Add(1)
			s.backlog = append(s.backlog, frame)
			s.off = max(n, 0)
			return w.watch(s)
		case errors.Is(err, unix.EINTR):
			continue
		default:
			return false
		}
	}
	return false
}

// flush writes s's queued frames, one write each, until the socket is full
// again or the queue is empty.
func (w *writer) flush(s *sub) {
	for len(s.backlog) > 0 {
		f := s.backlog[0][s.off:]
		n, err := unix.Write(s.fd, f)
		switch {
		case err == nil && n == len(f):
			s.backlog[0] = nil
			s.backlog = s.backlog[1:]
			s.off = 0
		case err == nil || errors.Is(err, unix.EAGAIN):
			s.off += max(n, 0)
			return
		case errors.Is(err, unix.EINTR):
		default:
			w.drop(s)
			return
		}
	}
	s.backlog = nil
	w.unwatch(s)
}

func (w *writer) watch(s *sub) bool {
	ev := unix.EpollEvent{Events: unix.EPOLLOUT, Fd: int32(s.fd)}
	if err := unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, s.fd, &ev); err != nil {
		return false
	}
	w.byFD[int32(s.fd)] = s
	return true
}

func (w *writer) unwatch(s *sub) {
	if w.byFD[int32(s.fd)] == s {
		_ = unix.EpollCtl(w.epfd, unix.EPOLL_CTL_DEL, s.fd, nil)
		delete(w.byFD, int32(s.fd))
	}
}

// drop closes s; fanout removes it from its channel.
func (w *writer) drop(s *sub) {
	if s.dead {
		return
	}
	w.unwatch(s)
	s.dead = true
	s.backlog = nil
	closeFD(s.fd)
	w.dropped.Add(1)
}

func (w *writer) closeAll() {
	for _, ch := range w.channels {
		for _, s := range ch.subs {
			if !s.dead {
				s.dead = true
				closeFD(s.fd)
			}
		}
	}
	w.mu.Lock()
	for _, r := range w.queue {
		if r.join {
			closeFD(r.fd)
		}
	}
	w.queue = nil
	w.mu.Unlock()
	unix.Close(w.epfd)
	unix.Close(w.evfd)
}

// appendFrame appends an unmasked, final text frame holding p (RFC 6455
// §5.2: a server never masks).
func appendFrame(dst, p []byte) []byte {
	dst = append(dst, 0x81)
	switch n := len(p); {
	case n < 126:
		dst = append(dst, byte(n))
	case n <= 0xffff:
		dst = append(dst, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, p...)
}

// takeFD moves c's socket out of Go's network poller: it duplicates the
// descriptor (the copy shares the socket and its O_NONBLOCK flag) and closes
// c, which unregisters the original from the poller.
func takeFD(c net.Conn) (int, error) {
	sc, ok := c.(syscallConner)
	if !ok {
		return 0, errors.New("floor: not a socket")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0, err
	}
	fd, dupErr := -1, error(nil)
	err = raw.Control(func(f uintptr) { fd, dupErr = unix.FcntlInt(f, unix.F_DUPFD_CLOEXEC, 0) })
	if err != nil {
		return 0, err
	}
	if dupErr != nil {
		return 0, dupErr
	}
	_ = c.Close()
	if err := unix.SetNonblock(fd, true); err != nil {
		closeFD(fd)
		return 0, err
	}
	return fd, nil
}

type syscallConner interface {
	SyscallConn() (syscall.RawConn, error)
}

func closeFD(fd int) { _ = unix.Close(fd) }
