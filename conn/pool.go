package conn

import (
	"sync"

	"github.com/comet-im/comet/codec"
	"github.com/valyala/bytebufferpool"
)

// maxPooledBytes is the largest buffer put back for reuse. A pool keeps what
// it is given until the GC clears it (two cycles, for sync.Pool), and hands
// it to whoever asks next, so one 16 MiB message would otherwise pin 16 MiB
// long after it was delivered, and every later small message would hold a
// huge buffer. Bigger buffers are left to the GC at once; the common
// message and request sizes are well below this.
const maxPooledBytes = 64 << 10

// messagePool holds the buffers WebSocket messages are assembled in.
var messagePool bytebufferpool.Pool

func getMessageBuffer() *bytebufferpool.ByteBuffer { return messagePool.Get() }

func putMessageBuffer(b *bytebufferpool.ByteBuffer) {
	if cap(b.B) <= maxPooledBytes {
		messagePool.Put(b)
	}
}

// chunkedBody is a chunked request in progress: the head copied out of the
// input, so the input can be consumed as the body arrives, the body decoded
// so far, and the decoder's state between reads.
type chunkedBody struct {
	head []byte // the request head, at most Limits.Head.MaxHeaderBytes
	body []byte // decoded data, at most Limits.MaxBodyBytes
	dec  codec.ChunkedDecoder
}

var chunkedPool = sync.Pool{New: func() any { return new(chunkedBody) }}

func getChunkedBody() *chunkedBody { return chunkedPool.Get().(*chunkedBody) }

func putChunkedBody(b *chunkedBody) {
	if cap(b.head) > maxPooledBytes {
		b.head = nil
	}
	if cap(b.body) > maxPooledBytes {
		b.body = nil
	}
	b.head, b.body = b.head[:0], b.body[:0]
	chunkedPool.Put(b)
}

var headPool = sync.Pool{New: func() any { return new(codec.HeadScanner) }}

func getHeadScanner() *codec.HeadScanner {
	s := headPool.Get().(*codec.HeadScanner)
	s.Reset()
	return s
}

func putHeadScanner(s *codec.HeadScanner) { headPool.Put(s) }
