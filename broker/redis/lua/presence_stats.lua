-- Returns {connections, users}.
cleanup()
return {redis.call('HLEN', KEYS[1]), redis.call('HLEN', KEYS[3])}
