package redis

import (
	_ "embed"

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
	presenceAddScript    = rueidis.NewLuaScript(presenceCommonLua + presenceAddLua)
	presenceRemoveScript = rueidis.NewLuaScript(presenceCommonLua + presenceRemoveLua)
	presenceGetScript    = rueidis.NewLuaScript(presenceCommonLua + presenceGetLua)
	presenceStatsScript  = rueidis.NewLuaScript(presenceCommonLua + presenceStatsLua)
)
