package web_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"testing"

	"github.com/chromedp/chromedp"
)

// A member with a long name at a phone's width: "Log out" stays on one
// line (it wrapped onto two, the name squeezing the button), and the
// name wraps instead of pushing the page sideways.
func TestBrowserLogoutOneLine(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	f := newFixture(t)
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	long, err := f.n.AddMember(context.Background(), "national-computer-emergency-response-team-of-the-republic-of-aurelia", pub)
	if err != nil {
		t.Fatal(err)
	}
	base := uiServer(t, f, nil)
	bctx, cancel := browser(t, 390)
	defer cancel()
	if err := chromedp.Do(bctx,
		chromedp.EmulateViewport(390, 900),
		chromedp.Navigate(base+"/ui/login"),
		chromedp.WaitVisible(chromedp.CSS(`#token`)),
		chromedp.SendKeys(chromedp.CSS(`#token`), long.Token),
		chromedp.Submit(chromedp.CSS(`#token`)),
		chromedp.WaitVisible(chromedp.CSS(`form.logout button`)),
	); err != nil {
		t.Fatal(err)
	}
	type lines struct{ Button, PageWidth, ViewWidth int }
	got, err := chromedp.Run(bctx, chromedp.Evaluate[lines](`(() => {
  const b = document.querySelector("form.logout button"), r = document.createRange();
  r.selectNodeContents(b);
  const tops = new Set([...r.getClientRects()].map((x) => Math.round(x.top)));
  return {Button: tops.size, PageWidth: document.documentElement.scrollWidth, ViewWidth: document.documentElement.clientWidth};
})()`))
	if err != nil {
		t.Fatal(err)
	}
	if got.Button != 1 {
		t.Errorf("\"Log out\" takes %d lines at 390 px with a long member name, want 1", got.Button)
	}
	if got.PageWidth > got.ViewWidth {
		t.Errorf("the page is %d px wide in a %d px view", got.PageWidth, got.ViewWidth)
	}
}
