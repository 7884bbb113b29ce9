//go:build unix

package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The permessage-deflate conformance matrix (docs/PROTOCOL.md,
// "Compression", "Conformance"): the case tables of sections 12 and 13 of
// the Autobahn testsuite's fuzzingclient, run against /echo of the real
// binary by independent clients, Python's websockets
// (test/python/deflate_matrix.py) and node's ws
// (test/node/deflate-matrix.test.mjs). Autobahn itself cannot run here: it
// is Python 2 software from PyPI or a Docker image, and this machine
// reaches neither.
//
// This file owns the matrix the clients share, written to a manifest
// (manifest.json in a temporary directory with the payload files): the
// message sizes and fragment sizes of Autobahn's MSG_SIZES, how many
// messages each case sends, and the five payloads of section 12. Autobahn
// slices its payloads from files it ships (a JSON file, a bitmap, Goethe's
// Faust, an HTML page, a PDF); those are not here, so each is replaced by
// a generated payload of the same kind and about the same compressibility,
// the same bytes on every run.

// deflateMsgSizes is Autobahn's MSG_SIZES (case12_x_x.py): the payload
// length and the auto-fragment size (0: one frame) of cases x.y.1 to
// x.y.18 of sections 12 and 13.
var deflateMsgSizes = [...]struct{ len, frag int }{
	{16, 0}, {64, 0}, {256, 0}, {1024, 0}, {4096, 0}, {8192, 0},
	{16384, 0}, {32768, 0}, {65536, 0}, {131072, 0},
	{8192, 256}, {16384, 256}, {32768, 256}, {65536, 256}, {131072, 256},
	{131072, 1024}, {131072, 4096}, {131072, 32768},
}

// Autobahn sends 1,000 messages in every case: 216 cases of up to 128 KiB,
// about 11 GB through a compressor each way per client, hours on this
// 2-core machine with the race-instrumented server make test runs. The
// matrix sends each case deflateCaseBytes of messages instead, at least
// deflateMinMessages (so every case has a message after the first, the
// one no context takeover is about) and at most deflateMaxMessages: about
// 35 s per client under -race, both at once, on a loaded machine.
// COMET_DEFLATE_MESSAGES=N in the environment sends N messages in every
// case instead; Autobahn's 1,000 would take far longer than runClient's
// deadline.
const (
	deflateCaseBytes   = 32 << 10
	deflateMinMessages = 2
	deflateMaxMessages = 4
)

// deflatePayloadBytes is the length of each generated payload: more than
// the largest message, so consecutive messages are different slices, as
// in Autobahn, which reads its files round-robin.
const deflatePayloadBytes = 256 << 10

// deflateDataSet is one payload of section 12, in the manifest.
type deflateDataSet struct {
	Section string `json:"section"` // "12.1"
	Desc    string `json:"desc"`
	File    string `json:"file"`
	Binary  bool   `json:"binary"` // sent as binary messages, as Autobahn does
}

// deflateCase is one row of MSG_SIZES, with its message count.
type deflateCase struct {
	Len   int `json:"len"`
	Frag  int `json:"frag"`
	Count int `json:"count"`
}

// deflateManifest is what the clients read from COMET_DEFLATE_DATA.
type deflateManifest struct {
	Sizes []deflateCase `json:"sizes"`
	// Sets are the payloads of 12.1 to 12.5, in Autobahn's numbering.
	Sets []deflateDataSet `json:"sets"`
	// Section13 is the payload of every case of section 13 (Autobahn's
	// JSON file).
	Section13 string `json:"section13"`
	// MaxMessageBytes is the server's -max-message-bytes.
	MaxMessageBytes int `json:"max_message_bytes"`
}

// deflateMaxMessageBytes lets the largest Autobahn message (128 KiB)
// through; the default cap is 64 KiB.
const deflateMaxMessageBytes = 256 << 10

// deflateGenerators make the payloads, in Autobahn's section order.
var deflateGenerators = []struct {
	set deflateDataSet
	gen func(r *rand.Rand, n int) []byte
}{
	{deflateDataSet{"12.1", "JSON records (stands in for Autobahn's data1.json; text)", "json.txt", false}, genJSON},
	{deflateDataSet{"12.2", "8-bit grey bitmap, a noisy gradient (for lena512.bmp; binary)", "bitmap.bin", true}, genBitmap},
	{deflateDataSet{"12.3", "German prose in UTF-8 (for Faust I, pg2229.txt; binary, as Autobahn sends it)", "faust.bin", true}, genProse},
	{deflateDataSet{"12.4", "HTML page (for data1.html; text)", "html.txt", false}, genHTML},
	{deflateDataSet{"12.5", "PDF-like, mostly already-compressed streams (for a PDF; binary)", "pdf.bin", true}, genPDF},
}

// writeDeflateMatrix writes the payloads and the manifest to a temporary
// directory and returns it.
func writeDeflateMatrix(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	m := deflateManifest{Section13: "json.txt", MaxMessageBytes: deflateMaxMessageBytes}
	for _, s := range deflateMsgSizes {
		m.Sizes = append(m.Sizes, deflateCase{Len: s.len, Frag: s.frag, Count: min(deflateMaxMessages, max(deflateMinMessages, deflateCaseBytes/s.len))})
	}
	for i, g := range deflateGenerators {
		// One seed per payload: each is the same on every run.
		data := g.gen(rand.New(rand.NewPCG(7692, uint64(i))), deflatePayloadBytes)
		if err := os.WriteFile(filepath.Join(dir, g.set.File), data, 0o644); err != nil {
			t.Fatal(err)
		}
		m.Sets = append(m.Sets, g.set)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// The generators return exactly n bytes. The text ones are ASCII, so a
// slice at any offset is valid UTF-8, as a text message must be.

var loremWords = strings.Fields("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris nisi aliquip ex ea commodo consequat")

func words(r *rand.Rand, n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = loremWords[r.IntN(len(loremWords))]
	}
	return strings.Join(w, " ")
}

func genJSON(r *rand.Rand, n int) []byte {
	var b strings.Builder
	b.WriteString("[")
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"id":%d,"guid":"%08x-%04x","name":"user-%d","email":"user%d@example.com","active":%v,"balance":%.2f,"tags":["%s","%s"],"about":"%s"},`+"\n",
			i, r.Uint32(), r.Uint32()&0xffff, r.IntN(100000), i, r.IntN(2) == 0, r.Float64()*10000,
			loremWords[r.IntN(len(loremWords))], loremWords[r.IntN(len(loremWords))], words(r, 5+r.IntN(20)))
	}
	return []byte(b.String()[:n])
}

func genBitmap(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	const width = 512
	for i := range b {
		x, y := i%width, i/width
		b[i] = byte((x+y)/4 + r.IntN(24))
	}
	return b
}

var proseWords = strings.Fields("Habe nun ach Philosophie Juristerei und Medizin und leider auch Theologie durchaus studiert mit heißem Bemühn Da steh ich nun ich armer Tor und bin so klug als wie zuvor Heiße Magister heiße Doktor gar und ziehe schon an die zehen Jahr herauf herab und quer und krumm meine Schüler an der Nase herum daß wir nichts wissen können")

func genProse(r *rand.Rand, n int) []byte {
	var b strings.Builder
	for b.Len() < n {
		for range 4 + r.IntN(8) {
			b.WriteString(proseWords[r.IntN(len(proseWords))])
			b.WriteByte(' ')
		}
		b.WriteString(".\n")
	}
	return []byte(b.String()[:n]) // binary messages: a cut rune is fine
}

func genHTML(r *rand.Rand, n int) []byte {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html><head><title>Comet</title></head><body>\n")
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `<div class="row item-%d"><a href="/items/%d?ref=%x">%s</a><p style="margin:0 %dpx">%s</p></div>`+"\n",
			r.IntN(10), i, r.Uint32(), words(r, 3), r.IntN(20), words(r, 10+r.IntN(30)))
	}
	return []byte(b.String()[:n])
}

func genPDF(r *rand.Rand, n int) []byte {
	b := make([]byte, 0, n+1024)
	b = append(b, "%PDF-1.4\n"...)
	for obj := 1; len(b) < n; obj++ {
		stream := make([]byte, 2048+r.IntN(6144))
		for i := range stream {
			stream[i] = byte(r.Uint32())
		}
		b = fmt.Appendf(b, "%d 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n", obj, len(stream))
		b = append(b, stream...)
		b = append(b, "\nendstream\nendobj\n"...)
	}
	return b[:n]
}

// deflateMatrixEnv is the environment the matrix clients run with: the
// server under test, the matrix and, with COMET_DEFLATE_MESSAGES set, the
// message count of every case.
func deflateMatrixEnv(t *testing.T, srv, off *server) []string {
	env := []string{
		"COMET_URL=" + srv.URL,
		"COMET_DEFLATE_DATA=" + writeDeflateMatrix(t),
		"PYTHONDONTWRITEBYTECODE=1",
	}
	if off != nil {
		env = append(env, "COMET_URL_OFF="+off.URL)
	}
	return env
}

// startDeflateEcho starts a node that serves /echo with compression on and
// lets the largest case's messages through.
func startDeflateEcho(t *testing.T) *server {
	return startServer(t, "-echo", "-ws-compression", "on", "-max-message-bytes", fmt.Sprint(deflateMaxMessageBytes))
}

// TestDeflateMatrixPython runs the matrix with Python's websockets (its
// ClientPerMessageDeflateFactory, one per offer), and the frames no
// library sends (RFC 7692 §7.2.3's forms of a compressed message, and the
// failures: RSV1 on a control frame, on a continuation, without the
// extension) with a raw socket client and Python's zlib.
func TestDeflateMatrixPython(t *testing.T) {
	t.Parallel()
	dir := requirePython(t)
	srv := startDeflateEcho(t)
	off := startServer(t, "-echo")
	env := deflateMatrixEnv(t, srv, off)
	// One process per part, each well inside runClient's deadline.
	for _, part := range [][]string{
		{"deflate_matrix.MatrixTest.test_section12"},
		{"deflate_matrix.MatrixTest.test_section13"},
		{"deflate_matrix.MatrixTest.test_parameters", "deflate_matrix.MatrixTest.test_declined", "deflate_matrix.RawTest"},
	} {
		runClient(t, dir, env, nil, python, append([]string{"-m", "unittest", "-v"}, part...)...)
	}
}

// TestDeflateCapAndClose: a message under -max-message-bytes sent in
// many compressed fragments is echoed, and the lingering close after a
// failure ends within its bound (test/python deflate_matrix.py
// CapAndCloseTest).
func TestDeflateCapAndClose(t *testing.T) {
	t.Parallel()
	dir := requirePython(t)
	capped := startServer(t, "-echo", "-ws-compression", "on")
	runClient(t, dir, append(deflateMatrixEnv(t, capped, nil), "COMET_URL_CAP="+capped.URL), nil,
		python, "-m", "unittest", "-v", "deflate_matrix.CapAndCloseTest")
}

// TestDeflateMatrixNode runs the matrix with node's ws (its
// perMessageDeflate options; ws makes one offer per connection, so not
// 13.7's three).
func TestDeflateMatrixNode(t *testing.T) {
	t.Parallel()
	dir := requireNode(t)
	srv := startDeflateEcho(t)
	env := deflateMatrixEnv(t, srv, nil)
	// One process per part, each well inside runClient's deadline.
	for _, part := range []string{"12", "13", "P"} {
		runClient(t, dir, append(env[:len(env):len(env)], "COMET_DEFLATE_PART="+part), nil, "node", nodeTest("deflate-matrix.test.mjs")...)
	}
}
