package server

import (
	"fmt"
	"strings"
	"testing"

	"github.com/comet-im/comet/broker"
)

// BenchmarkDeliverDeflate is BenchmarkDeliver with permessage-deflate: a
// new message each op (so that its one compression is in the figure)
// written to 1,000 local WebSocket subscribers, all plain or all deflate.
// ns/op is per message; ns/delivery is that over the 1,000 subscribers;
// wire-B/delivery is the frame each subscriber is sent. The chat message
// is a typical line of a room; 4KiB is a JSON list, the kind of payload
// (a roster, a feed page) compression is for.
func BenchmarkDeliverDeflate(b *testing.B) {
	var list strings.Builder
	list.WriteString(`{"items":[`)
	for i := 0; list.Len() < 4<<10; i++ {
		if i > 0 {
			list.WriteByte(',')
		}
		fmt.Fprintf(&list, `{"id":%d,"user":"user%d","status":"online","room":"room:%d","since":%d}`, i, i*7, i%5, 1700000000+i*13)
	}
	list.WriteString(`]}`)
	for _, payload := range []struct {
		name string
		data []byte
	}{{"chat", chatData}, {"4KiB", []byte(list.String())}} {
		for _, deflate := range []bool{false, true} {
			name := payload.name + "/plain"
			if deflate {
				name = payload.name + "/deflate"
			}
			b.Run(name, func(b *testing.B) {
				const subs = 1000
				l, m := newBenchLoop(b, subs, kindNative)
				if deflate {
					deflateSessions(l, 1)
				}
				l.deliver(m) // the loop's buffers, the compressor pool
				p := *m.pub
				p.Data = payload.data
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					next := &broker.Publication{Channel: p.Channel, Epoch: p.Epoch, Seq: uint64(i + 2), Time: p.Time, Data: p.Data}
					l.deliver(messageOf(next))
				}
				b.StopTimer()
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*subs), "ns/delivery")
				last := messageOf(&broker.Publication{Channel: p.Channel, Epoch: p.Epoch, Seq: 1, Time: p.Time, Data: p.Data})
				b.ReportMetric(float64(len(last.wsFrame(deflate))), "wire-B/delivery")
			})
		}
	}
}
