package redis

import (
	"crypto/sha1"
	_ "embed"
	"encoding/hex"

	"github.com/redis/rueidis"
)

// The Lua scripts (lua/*.lua), one call each: every read-modify-write of a
// channel is one atomic script, so no two nodes interleave inside one.
// rueidis runs them by EVALSHA and loads them on NOSCRIPT (after a Redis
// restart, or on a node that never saw them).
var (
	//go:embed lua/publish.lua
	publishLua string
	//go:embed lua/history.lua
	historyLua string
	//go:embed lua/presence_common.lua
	presenceCommonLua string
	//go:embed lua/presence_add.lua
	presenceAddLua string
	//go:embed lua/presence_expire.lua
	presenceExpireLua string
	//go:embed lua/presence_remove.lua
	presenceRemoveLua string
	//go:embed lua/presence_get.lua
	presenceGetLua string
	//go:embed lua/presence_stats.lua
	presenceStatsLua string
)

var (
	publishScript = rueidis.NewLuaScript(publishLua)
	// historyScript declares no-writes: it may run where writes are refused
	// (a replica, a server out of memory), and a read is safe to retry.
	historyScript        = rueidis.NewLuaScriptReadOnly(historyLua)
	historySHA           = sha1Hex(historyLua)
	presenceAddScript    = rueidis.NewLuaScript(presenceCommonLua + presenceAddLua)
	presenceRemoveScript = rueidis.NewLuaScript(presenceCommonLua + presenceRemoveLua)
	presenceExpireScript = rueidis.NewLuaScript(presenceCommonLua + presenceExpireLua)
	presenceGetScript    = rueidis.NewLuaScript(presenceCommonLua + presenceGetLua)
	presenceStatsScript  = rueidis.NewLuaScript(presenceCommonLua + presenceStatsLua)
)

// sha1Hex is the SHA-1 Redis names a script by (for EVALSHA inside MULTI,
// where rueidis's load-on-NOSCRIPT cannot run).
func sha1Hex(script string) string {
	sum := sha1.Sum([]byte(script))
	return hex.EncodeToString(sum[:])
}
