package redis

import (
	"testing"

	"github.com/comet-im/comet/inbox"
	"github.com/comet-im/comet/inbox/inboxtest"
	"github.com/comet-im/comet/internal/testredis"
)

func TestContract(t *testing.T) {
	t.Parallel()
	srv := testredis.Start(t, testredis.Options{})
	inboxtest.Run(t, func(t *testing.T, o inboxtest.Options) inbox.Store {
		s, err := New(contractConfig(testConfig(srv.Addr()), o))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
