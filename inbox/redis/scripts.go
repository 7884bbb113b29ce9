package redis

import (
	"context"
	"crypto/sha1"
	_ "embed"
	"encoding/hex"

	"github.com/redis/rueidis"
)

// The Lua scripts (lua/*.lua): every read-modify-write of a user's inbox
// is one script, so no two nodes interleave inside one, and Redis
// replicates and persists each as one unit. The write scripts are
// common.lua followed by their own part; the shebang is added here, so
// that the read-only ones can declare no-writes (they may then run where
// writes are refused: a replica, a server out of memory).
var (
	//go:embed lua/common.lua
	commonLua string
	//go:embed lua/append.lua
	appendLua string
	//go:embed lua/ack.lua
	ackLua string
	//go:embed lua/markread.lua
	markReadLua string
	//go:embed lua/delete.lua
	deleteLua string
	//go:embed lua/list.lua
	listLua string
	//go:embed lua/sweep.lua
	sweepLua string
	//go:embed lua/read.lua
	readLua string
	//go:embed lua/devices.lua
	devicesLua string
	//go:embed lua/conversations.lua
	conversationsLua string
)

var (
	appendScript        = writeScript(commonLua + appendLua)
	ackScript           = writeScript(commonLua + ackLua)
	markReadScript      = writeScript(commonLua + markReadLua)
	deleteScript        = writeScript(commonLua + deleteLua)
	listScript          = writeScript(listLua)
	sweepScript         = writeScript(commonLua + sweepLua)
	readScript          = readOnlyScript(readLua)
	devicesScript       = readOnlyScript(devicesLua)
	conversationsScript = readOnlyScript(conversationsLua)
)

// script is one Lua script: rueidis runs it by EVALSHA and sends its
// source on NOSCRIPT (after a Redis restart, on a node that never saw
// it). execMulti does the same for a batch spread over a cluster's nodes,
// which rueidis's own ExecMulti would precede with a SCRIPT LOAD to every
// node on every call.
type script struct {
	lua      *rueidis.Lua
	src, sha string
	readOnly bool
}

// Scripts that write are flagged without allow-oom: Redis refuses them
// before they start when it is out of memory, never half way.
func writeScript(src string) *script {
	src = "#!lua\n" + src
	return &script{lua: rueidis.NewLuaScript(src), src: src, sha: sha1Hex(src)}
}

func readOnlyScript(src string) *script {
	src = "#!lua flags=no-writes\n" + src
	return &script{lua: rueidis.NewLuaScriptReadOnly(src), src: src, sha: sha1Hex(src), readOnly: true}
}

func sha1Hex(src string) string {
	sum := sha1.Sum([]byte(src))
	return hex.EncodeToString(sum[:])
}

func (sc *script) exec(ctx context.Context, c rueidis.Client, keys, args []string) rueidis.RedisResult {
	return sc.lua.Exec(ctx, c, keys, args)
}

// execMulti runs the script once per exec, pipelined (in a cluster, to
// each exec's node, the nodes in parallel); the results are in the order
// of execs.
func (sc *script) execMulti(ctx context.Context, c rueidis.Client, execs []rueidis.LuaExec) []rueidis.RedisResult {
	cmds := make(rueidis.Commands, len(execs))
	for i, e := range execs {
		cmds[i] = sc.command(c, e, true)
	}
	res := c.DoMulti(ctx, cmds...)
	var again []int
	for i, r := range res {
		if re, ok := rueidis.IsRedisErr(r.Error()); ok && re.IsNoScript() {
			again = append(again, i)
		}
	}
	if len(again) == 0 {
		return res
	}
	// NOSCRIPT: that node did not run it; send the source.
	cmds = cmds[:0]
	for _, i := range again {
		cmds = append(cmds, sc.command(c, execs[i], false))
	}
	for j, r := range c.DoMulti(ctx, cmds...) {
		res[again[j]] = r
	}
	return res
}

func (sc *script) command(c rueidis.Client, e rueidis.LuaExec, bySHA bool) rueidis.Completed {
	n := int64(len(e.Keys))
	switch {
	case bySHA && sc.readOnly:
		return c.B().EvalshaRo().Sha1(sc.sha).Numkeys(n).Key(e.Keys...).Arg(e.Args...).Build()
	case bySHA:
		return c.B().Evalsha().Sha1(sc.sha).Numkeys(n).Key(e.Keys...).Arg(e.Args...).Build()
	case sc.readOnly:
		return c.B().EvalRo().Script(sc.src).Numkeys(n).Key(e.Keys...).Arg(e.Args...).Build()
	}
	return c.B().Eval().Script(sc.src).Numkeys(n).Key(e.Keys...).Arg(e.Args...).Build()
}
