package refclock

import (
	"testing"
	"time"

	"github.com/gnomon-ntp/gnomon/pps"
	"github.com/gnomon-ntp/gnomon/source"
)

func BenchmarkParserLine(b *testing.B) {
	p := NewParser(NMEAConfig{})
	rx := t0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p.Line(ubxRMC, rx) // same second after the first: full parse, no message
	}
}

func BenchmarkLockerSecond(b *testing.B) {
	l := NewLocker(LockerConfig{})
	b.ReportAllocs()
	for k := 0; b.Loop(); k++ {
		tt := t0.Add(time.Duration(k) * time.Second)
		l.AddEdge(pps.Edge{Time: tt, Seq: uint64(k + 1), Assert: true})
		l.AddTime(TimeMsg{UTC: tt, Received: tt.Add(200 * time.Millisecond), Valid: true})
	}
}

func BenchmarkFilterAdd(b *testing.B) {
	f := NewFilter(FilterConfig{})
	b.ReportAllocs()
	for k := 0; b.Loop(); k++ {
		f.Add(source.Sample{Local: t0.Add(time.Duration(k) * time.Second), Offset: time.Duration(k%7) * time.Microsecond})
	}
}
