package web_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestTallyIsTheNodesWord: the opinions' tally on an object page is the
// node's count, which the browser doesn't check; the page says so beside
// it, not only the page-wide "checks the proofs in your browser", and links
// each counted opinion to its own page, whose check is the browser's.
func TestTallyIsTheNodesWord(t *testing.T) {
	f := newFixture(t)
	c := newClient(t, f.URL)
	c.login(t, f.aurelia.Token)
	resp, body := c.get(t, "/ui/objects/"+f.report)
	mustStatus(t, resp, http.StatusOK, "report page")
	i := strings.Index(body, `class="tally"`)
	if i < 0 {
		t.Fatal("no tally on the report's page")
	}
	section := body[i:]
	if j := strings.Index(section, "</section>"); j > 0 {
		section = section[:j]
	}
	if !strings.Contains(section, "As counted by your node: this count is not checked in your browser") {
		t.Errorf("the tally doesn't say it is the node's count: %s", section)
	}
	if !strings.Contains(section, `href="/ui/objects/opinion--88888888-8888-4888-8888-888888888888"`) {
		t.Errorf("the counted opinion isn't linked to its page: %s", section)
	}
}
