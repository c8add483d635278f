package analyzer

import "testing"

// TestInvalidFlags_rstWithData: types.go counts a RST with data among the
// invalid-flags cases; Linux never sends one (tcp_v4_send_reset and
// tcp_send_active_reset build bare headers). A bare RST is not invalid.
func TestInvalidFlags_rstWithData(t *testing.T) {
	s := established(t)
	r := s.send(Client, rstack, 12)
	td := s.finish(0)
	found := false
	for _, a := range td.Anomalies {
		if a.Kind == InvalidFlags {
			found = len(a.Frames) == 1 && a.Frames[0] == r.Frame
		}
	}
	if !found {
		t.Errorf("RST with 12 bytes of data (frame %d): no invalid-flags anomaly on it: %+v", r.Frame, td.Anomalies)
	}

	s = established(t)
	s.send(Client, rstack, 0)
	for _, a := range s.finish(0).Anomalies {
		if a.Kind == InvalidFlags {
			t.Errorf("a bare RST reported as invalid-flags")
		}
	}
}
