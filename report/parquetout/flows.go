package parquetout

import (
	"time"

	"finwave/analyzer"
	"finwave/flow"
	"finwave/report"
)

// FlowRow is one row of flows.parquet: every scalar of the JSON flow
// (report/SCHEMA.md), nested objects flattened with their path joined by
// "_" (packets.client → packets_client). Times are timestamps (null where
// the JSON has null), duration float64 seconds as in the JSON, the _ns
// columns int64 nanoseconds. Columns marked dict repeat few values.
type FlowRow struct {
	Capture          string     `parquet:"capture,dict"`
	Host             string     `parquet:"host,optional,dict"`
	Key              string     `parquet:"key"`
	Stream           int64      `parquet:"stream,delta"`
	WiresharkStreams []int64    `parquet:"wireshark_streams,list"`
	ClientAddr       string     `parquet:"client_addr,dict"`
	ClientPort       int32      `parquet:"client_port,delta"`
	ServerAddr       string     `parquet:"server_addr,dict"`
	ServerPort       int32      `parquet:"server_port,delta"`
	TunnelType       *string    `parquet:"tunnel_type,optional,dict"`
	TunnelID         *int64     `parquet:"tunnel_id,optional"`
	TunnelOuterSrc   *string    `parquet:"tunnel_outer_src,optional,dict"`
	TunnelOuterDst   *string    `parquet:"tunnel_outer_dst,optional,dict"`
	TunnelPath       []string   `parquet:"tunnel_path,list"`
	Roles            string     `parquet:"roles,dict"`
	FirstFrame       int64      `parquet:"first_frame,delta"`
	LastFrame        int64      `parquet:"last_frame,delta"`
	FirstTime        *time.Time `parquet:"first_time,optional,timestamp(nanosecond)"`
	LastTime         *time.Time `parquet:"last_time,optional,timestamp(nanosecond)"`
	Duration         float64    `parquet:"duration"`
	Pattern          string     `parquet:"pattern,dict"`
	Closer           string     `parquet:"closer,dict"`
	Verdict          string     `parquet:"verdict,dict"`
	ClientState      string     `parquet:"client_state,dict"`
	ClientSince      *time.Time `parquet:"client_state_since,optional,timestamp(nanosecond)"`
	ClientUntil      *time.Time `parquet:"client_state_until,optional,timestamp(nanosecond)"`
	ClientTentative  bool       `parquet:"client_state_tentative"`
	ClientSilent     int64      `parquet:"client_silent_frame,delta"`
	ClientSilentAt   *time.Time `parquet:"client_silent_since,optional,timestamp(nanosecond)"`
	ServerState      string     `parquet:"server_state,dict"`
	ServerSince      *time.Time `parquet:"server_state_since,optional,timestamp(nanosecond)"`
	ServerUntil      *time.Time `parquet:"server_state_until,optional,timestamp(nanosecond)"`
	ServerTentative  bool       `parquet:"server_state_tentative"`
	ServerSilent     int64      `parquet:"server_silent_frame,delta"`
	ServerSilentAt   *time.Time `parquet:"server_silent_since,optional,timestamp(nanosecond)"`
	ZeekConnState    string     `parquet:"zeek_conn_state,dict"`
	ZeekHistory      string     `parquet:"zeek_history,dict"`
	ZeekUID          string     `parquet:"zeek_uid,uncompressed"`
	ZeekConns        int64      `parquet:"zeek_conns,delta"`
	CommunityID      *string    `parquet:"community_id,optional,uncompressed"`
	PacketsClient    int64      `parquet:"packets_client,delta"`
	PacketsServer    int64      `parquet:"packets_server,delta"`
	BytesClient      int64      `parquet:"bytes_client,delta"`
	BytesServer      int64      `parquet:"bytes_server,delta"`
	ChecksumsCOff    int64      `parquet:"checksums_client_offloaded,delta"`
	ChecksumsCBad    int64      `parquet:"checksums_client_bad,delta"`
	ChecksumsSOff    int64      `parquet:"checksums_server_offloaded,delta"`
	ChecksumsSBad    int64      `parquet:"checksums_server_bad,delta"`
	OffloadCSuper    int64      `parquet:"offload_client_super,delta"`
	OffloadCLargest  int64      `parquet:"offload_client_largest,delta"`
	OffloadSSuper    int64      `parquet:"offload_server_super,delta"`
	OffloadSLargest  int64      `parquet:"offload_server_largest,delta"`
	Finish           string     `parquet:"finish,dict"`
	Continued        bool       `parquet:"continued"`
	Profile          string     `parquet:"profile,dict"`
	VantageAt        string     `parquet:"vantage_at,dict"`
	VantageEvidence  []string   `parquet:"vantage_evidence,list" parquet-element:",dict"`
	Segments         int64      `parquet:"segments,delta"`
	SegmentsOmitted  int64      `parquet:"segments_omitted,delta"`
	Anomalies        int64      `parquet:"anomalies,delta"`
	AnomalyKinds     []string   `parquet:"anomaly_kinds,list" parquet-element:",dict"`
	IdleBeforeClose  int64      `parquet:"idle_before_close_ns,delta"`
	ReuseIdle        int64      `parquet:"reuse_idle_ns,delta"`
}

// flowRow fills r from t and returns its size (RowGroupBytes); the
// values it points to are in the arena.
func (w *Writer) flowRow(r *FlowRow, t *analyzer.Teardown, key string) int {
	m := &w.b.mem
	*r = FlowRow{
		Capture: w.capture, Host: w.host, Key: key, Stream: t.Stream,
		ClientAddr: w.addr(t.Client.Addr), ClientPort: int32(t.Client.Port),
		ServerAddr: w.addr(t.Server.Addr), ServerPort: int32(t.Server.Port),
		Roles: t.Roles.String(), FirstFrame: t.FirstFrame, LastFrame: t.LastFrame,
		FirstTime: m.time(t.FirstTime), LastTime: m.time(t.LastTime),
		Pattern: t.Pattern.String(), Closer: t.Closer.String(), Verdict: m.str(t.Verdict),
		ClientState: t.ClientEnd.State.String(), ClientSince: m.time(t.ClientEnd.Since),
		ClientUntil: m.time(t.ClientEnd.Until), ClientTentative: t.ClientEnd.Tentative,
		ClientSilent: t.ClientEnd.SilentFrame, ClientSilentAt: m.time(t.ClientEnd.SilentSince),
		ServerState: t.ServerEnd.State.String(), ServerSince: m.time(t.ServerEnd.Since),
		ServerUntil: m.time(t.ServerEnd.Until), ServerTentative: t.ServerEnd.Tentative,
		ServerSilent: t.ServerEnd.SilentFrame, ServerSilentAt: m.time(t.ServerEnd.SilentSince),
		ZeekConnState: t.ZeekConnState, ZeekHistory: m.str(t.ZeekHistory), ZeekConns: int64(len(t.Zeek)),
		PacketsClient: int64(t.Sent[analyzer.Client].Packets), PacketsServer: int64(t.Sent[analyzer.Server].Packets),
		BytesClient: int64(t.Sent[analyzer.Client].Bytes), BytesServer: int64(t.Sent[analyzer.Server].Bytes),
		ChecksumsCOff: int64(t.Offload[analyzer.Client].ChecksumPartial), ChecksumsCBad: int64(t.BadChecksums[analyzer.Client]),
		ChecksumsSOff: int64(t.Offload[analyzer.Server].ChecksumPartial), ChecksumsSBad: int64(t.BadChecksums[analyzer.Server]),
		OffloadCSuper: int64(t.Offload[analyzer.Client].Super), OffloadCLargest: int64(t.Offload[analyzer.Client].Largest),
		OffloadSSuper: int64(t.Offload[analyzer.Server].Super), OffloadSLargest: int64(t.Offload[analyzer.Server].Largest),
		Finish: t.Finish.String(), Continued: t.Continued, Profile: t.Profile,
		VantageAt: t.Vantage.At.String(),
		Segments:  int64(len(t.Segments)), SegmentsOmitted: int64(t.SegmentsOmitted),
		Anomalies:       int64(len(t.Anomalies)),
		IdleBeforeClose: int64(t.IdleBeforeClose), ReuseIdle: int64(t.ReuseIdle),
	}
	if !t.FirstTime.IsZero() && !t.LastTime.IsZero() {
		r.Duration = t.LastTime.Sub(t.FirstTime).Seconds()
	}
	n := len(m.b)
	m.b = report.AppendZeekUID(m.b, t)
	r.ZeekUID = m.since(n)
	n = len(m.b)
	m.b = report.AppendCommunityID(m.b, t)
	if cid := m.since(n); cid != "" {
		m.add(cid)
		r.CommunityID = &m.strs[len(m.strs)-1]
	}
	for _, s := range t.Streams {
		m.i64s = append(m.i64s, s.ID)
	}
	r.WiresharkStreams = m.i64s[len(m.i64s)-len(t.Streams) : len(m.i64s) : len(m.i64s)]
	if tn := &t.Tunnel; tn.Type != flow.NoTunnel {
		ns := len(m.strs)
		m.add(tn.Type.String())
		if tn.Outer.Src.Addr.IsValid() {
			m.add(w.tunnelEndpoint(tn.Outer.Src))
			m.add(w.tunnelEndpoint(tn.Outer.Dst))
		}
		np := len(m.strs)
		for i := 0; i < int(tn.Depth) && i < len(tn.Path); i++ {
			m.add(tn.Path[i].String())
		}
		all := m.strs[ns:len(m.strs):len(m.strs)]
		r.TunnelType = &all[0]
		if np > ns+1 {
			r.TunnelOuterSrc, r.TunnelOuterDst = &all[1], &all[2]
		}
		r.TunnelPath = all[np-ns:]
		if tn.HasID {
			r.TunnelID = m.int64(int64(tn.ID))
		}
	}
	ns := len(m.strs)
	for _, e := range t.Vantage.Evidence {
		m.add(m.str(e))
	}
	r.VantageEvidence = m.list(ns)
	ns = len(m.strs)
	for i := range t.Anomalies {
		m.add(t.Anomalies[i].Kind.String())
	}
	r.AnomalyKinds = m.list(ns)
	size := 31*8 + len(key) + len(r.Verdict) + len(r.ZeekHistory) + len(r.ZeekUID) + 96
	for _, e := range r.VantageEvidence {
		size += len(e)
	}
	return size
}

// tunnelEndpoint is a tunnel's outer endpoint as the JSON writes it:
// the address alone when the tunnel has no ports (IP in IP, GRE).
func (w *Writer) tunnelEndpoint(e flow.Endpoint) string {
	e.Addr = e.Addr.WithZone("")
	if e.Port == 0 {
		return w.addr(e.Addr)
	}
	return w.endpoint(e)
}
