package main

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"finwave/capture"
)

// readFrames reads every frame of a capture file.
func readFrames(t *testing.T, path string) []capture.Frame {
	t.Helper()
	src, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var out []capture.Frame
	for {
		var f capture.Frame
		if err := src.Next(&f); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		f.Data = slices.Clone(f.Data)
		out = append(out, f)
	}
}

// TestTunnelUnderlayAndOverlayOneFlow: a node's capture on every interface
// (tcpdump -i any) holds each segment twice, in the VXLAN on the underlay
// and plain on the overlay device. Merged by time, the two kernel-recorded
// captures of the vxlan fixture must give the underlay's flows, once
// each, with the copies counted as duplicates.
func TestTunnelUnderlayAndOverlayOneFlow(t *testing.T) {
	under := readFrames(t, "../../fixtures/vxlan.pcap")
	over := readFrames(t, "../../fixtures/vxlan_overlay.pcap")
	all := append(slices.Clone(under), over...)
	slices.SortStableFunc(all, func(a, b capture.Frame) int { return a.Time.Compare(b.Time) })
	path := filepath.Join(t.TempDir(), "both.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := capture.NewPcapWriter(f, path, under[0].LinkType, 262144)
	if err != nil {
		t.Fatal(err)
	}
	for i := range all {
		if err := w.WriteFrame(&all[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	type flowView struct {
		Pattern, Closer, ClientState, ServerState string
		Packets                                   map[string]int
		Kinds                                     []string
		Tunnel                                    string
	}
	analyse := func(p string) ([]flowView, map[string]int64) {
		code, out, errOut := runCLI(t, nil, "--json", "--all", p)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", p, code, errOut)
		}
		var doc struct {
			Skipped map[string]int64 `json:"skipped"`
			Flows   []struct {
				Pattern     string         `json:"pattern"`
				Closer      string         `json:"closer"`
				ClientState string         `json:"client_state"`
				ServerState string         `json:"server_state"`
				Packets     map[string]int `json:"packets"`
				Tunnel      *struct {
					Type string `json:"type"`
				} `json:"tunnel"`
				Anomalies []struct {
					Kind string `json:"kind"`
				} `json:"anomalies"`
			} `json:"flows"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		var v []flowView
		for _, f := range doc.Flows {
			fv := flowView{Pattern: f.Pattern, Closer: f.Closer, ClientState: f.ClientState, ServerState: f.ServerState, Packets: f.Packets}
			for _, a := range f.Anomalies {
				fv.Kinds = append(fv.Kinds, a.Kind)
			}
			if f.Tunnel != nil {
				fv.Tunnel = f.Tunnel.Type
			}
			v = append(v, fv)
		}
		return v, doc.Skipped
	}
	want, _ := analyse("../../fixtures/vxlan.pcap")
	got, skipped := analyse(path)
	if len(want) != 2 || want[0].Tunnel != "vxlan" {
		t.Fatalf("vxlan.pcap: %+v, want two flows in the VXLAN", want)
	}
	if len(got) != len(want) {
		t.Fatalf("merged capture: %d flows, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if g, w := got[i], want[i]; g.Pattern != w.Pattern || g.Closer != w.Closer || g.ClientState != w.ClientState ||
			g.ServerState != w.ServerState || !slices.Equal(g.Kinds, w.Kinds) || g.Tunnel != w.Tunnel ||
			g.Packets["client"] != w.Packets["client"] || g.Packets["server"] != w.Packets["server"] {
			t.Errorf("flow %d merged %+v, underlay alone %+v", i, g, w)
		}
	}
	if skipped["duplicate capture"] != int64(len(over)) {
		t.Errorf("skipped %v, want the overlay's %d copies as duplicate captures", skipped, len(over))
	}
}
