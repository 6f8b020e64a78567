package server

import "github.com/gnomon-ntp/gnomon/status"

// StatusCounters returns the server's counters as the status snapshot
// carries them (drop reasons by name, only those seen).
func (s *Server) StatusCounters() status.Server {
	st := s.Stats()
	out := status.Server{Received: st.Received, Answered: st.Answered, KoD: st.KoD, Control: st.Control}
	for i, n := range st.Drops {
		if n != 0 && DropReason(i) != DropNone {
			out.Drops = append(out.Drops, status.Drop{Reason: DropReason(i).String(), Count: n})
		}
	}
	return out
}

// SetSnapshot gives the server the appliance's status snapshot, which mode
// 6 answers from (one association per source). Without it mode 6 sees the
// sync state alone and lists no association. Call it before Serve.
func (s *Server) SetSnapshot(snap func() *status.Snapshot) { s.snapshot = snap }

// statusSnapshot returns the snapshot mode 6 answers from.
func (s *Server) statusSnapshot() *status.Snapshot {
	if s.snapshot != nil {
		return s.snapshot()
	}
	return &status.Snapshot{Time: s.clock.Now(), Sync: s.state()}
}
