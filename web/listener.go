package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"

	"callscribe"
)

// Listener wraps ln so that the answers net/http writes itself, before any handler runs,
// go out in the API's JSON like every other error: a malformed request line or header
// line, a bad or repeated Content-Length (400), an unsupported Transfer-Encoding (501), a
// header over the server's ceiling (431). net/http offers no hook for them; it writes
// them straight to the connection, in plain text, in one write that no handler's answer
// can look like (the status line followed at once by Content-Type and then Connection:
// a handler's headers go out sorted, Connection first). `callscribe serve` and the
// tests serve on it.
func Listener(ln net.Listener) net.Listener { return jsonErrorListener{ln} }

type jsonErrorListener struct{ net.Listener }

func (l jsonErrorListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &jsonErrorConn{Conn: c}, nil
}

// jsonErrorConn rewrites net/http's own plain-text error answer into JSON.
type jsonErrorConn struct{ net.Conn }

// serverErrorHeaders is what net/http writes after the status line of its own answers.
const serverErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

func (c *jsonErrorConn) Write(p []byte) (int, error) {
	if out, ok := jsonServerError(p); ok {
		if _, err := c.Conn.Write(out); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// CloseWrite lets net/http half-close after its 431, as it does on a bare TCP connection.
func (c *jsonErrorConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// jsonServerError turns one of net/http's own answers ("HTTP/1.1 400 Bad Request" +
// serverErrorHeaders + text) into the same status with the API's JSON error body; ok is
// false for anything else. The message is net/http's fixed text after the status (it
// quotes nothing the client sent), or the status text.
func jsonServerError(p []byte) ([]byte, bool) {
	rest, ok := bytes.CutPrefix(p, []byte("HTTP/1.1 "))
	if !ok || len(rest) < 4 || rest[3] != ' ' {
		return nil, false
	}
	statusLine, body, ok := bytes.Cut(rest, []byte(serverErrorHeaders))
	if !ok || bytes.ContainsAny(statusLine, "\r\n") {
		return nil, false
	}
	status, err := strconv.Atoi(string(statusLine[:3]))
	if err != nil || status < 400 || status > 599 {
		return nil, false
	}
	code := callscribe.EINVALID
	if status == http.StatusRequestHeaderFieldsTooLarge {
		code = callscribe.ETOOLARGE
	}
	msg := string(body)
	if _, text, ok := bytes.Cut(body, []byte(": ")); ok { // "400 Bad Request: missing required Host header"
		msg = string(text)
	}
	switch status {
	case http.StatusBadRequest:
		if msg == "400 Bad Request" {
			msg = "malformed request: its request line or a header line cannot be parsed, or its Content-Length is bad or repeated"
		}
	case http.StatusRequestHeaderFieldsTooLarge:
		msg = fmt.Sprintf("the request header is larger than the limit of %d bytes", maxHeaderBytes)
	case http.StatusNotImplemented:
		msg = "unsupported Transfer-Encoding: only chunked is"
	}
	j, err := json.Marshal(errorBody{errorDetail{Code: code, Message: msg}})
	if err != nil {
		return nil, false
	}
	j = append(j, '\n')
	var out bytes.Buffer
	fmt.Fprintf(&out, "HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\nContent-Length: %d\r\n\r\n",
		status, http.StatusText(status), len(j))
	out.Write(j)
	return out.Bytes(), true
}
