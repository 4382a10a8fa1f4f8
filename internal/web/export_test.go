package web

// SetMaxPDQLookup lowers the most PDQ hashes a look-up of h searches
// (MaxPDQLookup), so that a test can share more than that.
func SetMaxPDQLookup(h *Handler, n int) { h.maxPDQ = n }
