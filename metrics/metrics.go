package metrics

import (
	"strconv"
	"strings"

	"github.com/comet-im/comet/server"
	"github.com/prometheus/client_golang/prometheus"
)

// Source is what the collector reads: *server.Server.
type Source interface {
	Stats() server.Stats
}

// Collector turns a Source's Stats into Prometheus metrics at scrape time.
type Collector struct {
	src Source
}

// New returns a Collector of src.
func New(src Source) *Collector { return &Collector{src: src} }

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("comet_"+name, help, labels, nil)
}

// The metrics, each with its help text.
var (
	descConnections = desc("connections", "Open connections, by transport (http: not upgraded yet, or plain HTTP requests).", "transport")
	descAccepted    = desc("connections_accepted_total", "Connections accepted.")
	descClosed      = desc("connections_closed_total", "Connections closed, by the transport they spoke and the reason (slow_consumer, message_too_big, idle_timeout, token_expired, unauthorized, ...).", "transport", "reason")
	descRefused     = desc("connections_refused_total", "Connections refused at admission, by reason (max_connections, max_per_ip).", "reason")
	descAcceptErrs  = desc("accept_errors_total", "Failed accepts (out of file descriptors or kernel memory).")
	descRequests    = desc("http_requests_total", "HTTP requests handled.")
	descUpgrades    = desc("websocket_upgrades_total", "WebSocket upgrades.")
	descCloseCodes  = desc("websocket_close_codes_total", "WebSocket close codes sent, by code.", "code")
	descSubs        = desc("subscriptions", "Subscriptions held (a connection on three channels holds three).")
	descChannels    = desc("channels", "Channels with at least one subscriber on this node.")
	descLingering   = desc("channels_lingering", "Channels the node still holds at the engine after their last subscriber left.")
	descPublished   = desc("messages_published_total", "Messages published through this node (clients and the backend API).")
	descDelivered   = desc("messages_delivered_total", "Message deliveries written to client sockets.")
	descBytesIn     = desc("received_bytes_total", "Bytes read from client sockets.")
	descBytesOut    = desc("sent_bytes_total", "Bytes handed to client sockets.")
	descPolls       = desc("polls_parked_total", "Long-polls parked.")
	descStreams     = desc("streams_opened_total", "SSE, chunked and iframe streams opened.")
	descResyncs     = desc("resyncs_total", "Subscriptions joined again after a gap or a page of history.")
	descPanics      = desc("panics_total", "Recovered panics (each closed one connection).")
	descPresDropped = desc("presence_dropped_total", "Presence updates dropped for a full queue.")
	descReady       = desc("ready", "1 while the node takes new clients (engine reachable, not draining), else 0.")
	descDraining    = desc("draining", "1 once the node has begun to drain.")
	descPublish     = desc("publish_duration_seconds", "Time the engine took to store and fan out a publish, as the node saw it.")
	descEngineCall  = desc("engine_call_duration_seconds", "Time of engine calls other than publish, by op (read: history; join: subscribe and read; presence; and any op the server adds).", "op")
	descAuthHook    = desc("auth_hook_duration_seconds", "Time of connect hook calls.")
)

var descs = []*prometheus.Desc{
	descConnections, descAccepted, descClosed, descRefused, descAcceptErrs, descRequests,
	descUpgrades, descCloseCodes, descSubs, descChannels, descLingering, descPublished,
	descDelivered, descBytesIn, descBytesOut, descPolls, descStreams, descResyncs,
	descPanics, descPresDropped, descReady, descDraining, descPublish, descEngineCall, descAuthHook,
}

// Describe sends every metric's descriptor.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range descs {
		ch <- d
	}
}

// Collect reads Stats once and sends every metric.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.src.Stats()
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	// Every transport, zeros included, so that a dashboard's series exist
	// before the first client of a kind.
	for _, t := range server.Transports() {
		gauge(descConnections, st.Open[t], t)
	}
	counter(descAccepted, st.Accepted)
	for t, reasons := range st.ClosedBy {
		for r, n := range reasons {
			counter(descClosed, n, t, Label(r))
		}
	}
	for _, r := range server.RefusalReasons() {
		counter(descRefused, st.Refused[r], Label(r))
	}
	counter(descAcceptErrs, st.AcceptErrs)
	counter(descRequests, st.Requests)
	counter(descUpgrades, st.Upgrades)
	for code, n := range st.CloseCodes {
		counter(descCloseCodes, n, strconv.Itoa(code))
	}
	gauge(descSubs, st.Subscriptions)
	gauge(descChannels, st.Channels)
	gauge(descLingering, st.LingeringChannels)
	counter(descPublished, st.Published)
	counter(descDelivered, st.Delivered)
	counter(descBytesIn, st.BytesIn)
	counter(descBytesOut, st.BytesOut)
	counter(descPolls, st.PollsParked)
	counter(descStreams, st.Streams)
	counter(descResyncs, st.Resyncs)
	counter(descPanics, st.Panics)
	counter(descPresDropped, st.PresenceDropped)
	gauge(descReady, boolInt(st.Ready))
	gauge(descDraining, boolInt(st.Draining))
	ch <- histogram(descPublish, st.Latency["publish"])
	for op, h := range st.Latency {
		if op != "publish" && op != "auth" {
			ch <- histogram(descEngineCall, h, op)
		}
	}
	ch <- histogram(descAuthHook, st.Latency["auth"])
}

// histogram converts a server histogram to a Prometheus one, in seconds.
func histogram(d *prometheus.Desc, h server.Histogram, labels ...string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(h.Cumulative))
	for i, b := range server.LatencyBounds {
		buckets[b.Seconds()] = h.Cumulative[i]
	}
	return prometheus.MustNewConstHistogram(d, h.Count, h.Sum.Seconds(), buckets, labels...)
}

// Label turns a name of package server ("slow consumer") into a label
// value ("slow_consumer").
func Label(name string) string {
	return strings.NewReplacer(" ", "_", "-", "_").Replace(strings.ToLower(name))
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
