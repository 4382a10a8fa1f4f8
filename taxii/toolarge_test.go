package taxii

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestTooLargeAnsweredToEagerClients checks that a client that writes a
// whole over-limit body before reading (as Python's requests and urllib
// do: no Expect: 100-continue) gets the TAXII 413 and not a reset
// connection, over a real TCP connection where the unread body would fill
// the socket buffers.
func TestTooLargeAnsweredToEagerClients(t *testing.T) {
	const limit = 4 << 20
	f := newFixture(t, Config{MaxContentLength: limit})
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	body := strings.Repeat(" ", 2*limit)
	head := fmt.Sprintf("POST /api/collections/%s/objects/ HTTP/1.1\r\nHost: parley.test\r\nAuthorization: Bearer %s\r\nAccept: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
		collShared, tokenAlice, MediaType, MediaType, len(body))
	if _, err := conn.Write([]byte(head + body)); err != nil {
		t.Fatalf("the node reset the connection while the client sent its body: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer after sending the body: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || resp.Header.Get("Content-Type") != MediaType {
		t.Errorf("status %s, Content-Type %q; want 413 with a TAXII error", resp.Status, resp.Header.Get("Content-Type"))
	}
	if len(f.b.records) != 0 {
		t.Errorf("a refused request stored %d objects", len(f.b.records))
	}
}
