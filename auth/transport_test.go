package auth

import (
	"strings"
	"testing"
)

func TestExtract(t *testing.T) {
	all := &TokenTransport{Cookie: "comet_token"}
	cases := []struct {
		name   string
		tt     *TokenTransport
		r      TokenRequest
		tok    string
		src    Source
		kind   error
		reason string
	}{
		{"bearer", all, TokenRequest{Authorization: "Bearer abc.def.ghi"}, "abc.def.ghi", SourceHeader, nil, ""},
		{"bearer, any case", all, TokenRequest{Authorization: "bearer abc"}, "abc", SourceHeader, nil, ""},
		{"bearer, spaces", all, TokenRequest{Authorization: "  Bearer   abc  "}, "abc", SourceHeader, nil, ""},
		{"bearer empty", all, TokenRequest{Authorization: "Bearer "}, "", SourceHeader, ErrInvalid, "malformed bearer credential"},
		{"bearer two words", all, TokenRequest{Authorization: "Bearer a b"}, "", SourceHeader, ErrInvalid, "malformed bearer credential"},
		{"basic ignored", all, TokenRequest{Authorization: "Basic dXNlcjpwdw==", Query: "token=q"}, "q", SourceQuery, nil, ""},
		{"query", all, TokenRequest{Query: "ch=room:1&token=abc"}, "abc", SourceQuery, nil, ""},
		{"query encoded", all, TokenRequest{Query: "token=a%2Eb"}, "a.b", SourceQuery, nil, ""},
		{"query key encoded", all, TokenRequest{Query: "to%6Ben=abc"}, "abc", SourceQuery, nil, ""},
		{"query twice", all, TokenRequest{Query: "token=a&token=b"}, "", SourceQuery, ErrInvalid, "token given twice"},
		{"query twice, encoded key", all, TokenRequest{Query: "token=a&to%6Ben=b"}, "", SourceQuery, ErrInvalid, "token given twice"},
		{"query bad escape", all, TokenRequest{Query: "token=a%zz"}, "", SourceQuery, ErrInvalid, "bad query encoding"},
		{"query empty is absent", all, TokenRequest{Query: "token="}, "", SourceNone, ErrMissing, "no token"},
		{"query semicolon is not a separator", all, TokenRequest{Query: "x=1;token=abc"}, "", SourceNone, ErrMissing, "no token"},
		{"query prefix name", all, TokenRequest{Query: "tokens=abc&xtoken=d"}, "", SourceNone, ErrMissing, "no token"},
		{"custom param", &TokenTransport{QueryParam: "jwt"}, TokenRequest{Query: "token=a&jwt=b"}, "b", SourceQuery, nil, ""},
		{"cookie", all, TokenRequest{Cookie: "a=1; comet_token=abc; b=2"}, "abc", SourceCookie, nil, ""},
		{"cookie quoted", all, TokenRequest{Cookie: `comet_token="abc"`}, "abc", SourceCookie, nil, ""},
		{"cookie first wins", all, TokenRequest{Cookie: "comet_token=new; comet_token=old"}, "new", SourceCookie, nil, ""},
		{"cookie off by default", &TokenTransport{}, TokenRequest{Cookie: "comet_token=abc"}, "", SourceNone, ErrMissing, "no token"},
		{"cookie name prefix", all, TokenRequest{Cookie: "xcomet_token=abc"}, "", SourceNone, ErrMissing, "no token"},
		{"header over query over cookie", all, TokenRequest{Authorization: "Bearer h", Query: "token=q", Cookie: "comet_token=c"}, "h", SourceHeader, nil, ""},
		{"query over cookie", all, TokenRequest{Query: "token=q", Cookie: "comet_token=c"}, "q", SourceQuery, nil, ""},
		{"header disabled", &TokenTransport{DisableHeader: true}, TokenRequest{Authorization: "Bearer h", Query: "token=q"}, "q", SourceQuery, nil, ""},
		{"query disabled", &TokenTransport{DisableQuery: true}, TokenRequest{Query: "token=q"}, "", SourceNone, ErrMissing, "no token"},
		{"too large", all, TokenRequest{Authorization: "Bearer " + strings.Repeat("a", 4097)}, "", SourceHeader, ErrInvalid, "token too large"},
		{"too large in query", all, TokenRequest{Query: "token=" + strings.Repeat("a", 4097)}, "", SourceQuery, ErrInvalid, "token too large"},
		{"too large before decoding", all, TokenRequest{Query: "token=" + strings.Repeat("%41", 5000)}, "", SourceQuery, ErrInvalid, "token too large"},
		{"limit", &TokenTransport{MaxTokenBytes: 3}, TokenRequest{Cookie: "x=1", Query: "token=abcd"}, "", SourceQuery, ErrInvalid, "token too large"},
		{"nothing", all, TokenRequest{}, "", SourceNone, ErrMissing, "no token"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok, src, err := c.tt.Extract(c.r)
			wantKind(t, err, c.kind)
			if tok != c.tok || src != c.src || reasonOf(err) != c.reason {
				t.Fatalf("Extract = %q, %v, %v; want %q, %v, reason %q", tok, src, err, c.tok, c.src, c.reason)
			}
		})
	}
	if !SourceCookie.Ambient() || SourceHeader.Ambient() || SourceQuery.Ambient() {
		t.Error("only cookies are ambient")
	}
}

func TestRedactQuery(t *testing.T) {
	for in, want := range map[string]string{
		"ch=room:1&token=secret&x=1": "ch=room:1&token=REDACTED&x=1",
		"to%6Ben=secret":             "to%6Ben=REDACTED",
		"token=a&token=b&":           "token=REDACTED&token=REDACTED&",
		"ch=token":                   "ch=token",
		"":                           "",
		"token":                      "token",
	} {
		if got := RedactQuery(in, ""); got != want {
			t.Errorf("RedactQuery(%q) = %q, want %q", in, got, want)
		}
	}
}
