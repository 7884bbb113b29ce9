package server

// tokenBucket bounds one connection's publishes: PublishBurst tokens,
// refilled at PublishRate per second, measured in wheel ticks. Tokens are
// kept in thousandths so that slow rates refill smoothly. Loop-owned.
type tokenBucket struct {
	milli int32 // tokens × 1000
	at    int32 // wheel tick of the last refill
}

func (b *tokenBucket) init(cfg *Config, now int64) {
	b.milli = int32(min(cfg.PublishBurst, 1<<20)) * 1000
	b.at = int32(now)
}

// take spends one token, reporting false when none is left.
func (b *tokenBucket) take(cfg *Config, now int64) bool {
	if cfg.PublishRate < 0 {
		return true
	}
	burst := int64(min(cfg.PublishBurst, 1<<20)) * 1000
	perTick := int64(cfg.PublishRate) * cfg.Tick.Milliseconds() // thousandths per tick
	elapsed := now - int64(b.at)
	milli := min(int64(b.milli)+elapsed*perTick, burst)
	b.at = int32(now)
	if milli < 1000 {
		b.milli = int32(milli)
		return false
	}
	b.milli = int32(milli - 1000)
	return true
}
