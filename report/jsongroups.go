package report

import (
	"strconv"
)

// appendJSONGroup appends one group as a compact JSON object (SCHEMA.md,
// "groups").
func appendJSONGroup(b []byte, g *group, gr *grouper) []byte {
	b = append(b, `{"severity":`...)
	b = appendJSONString(b, g.severity.String())
	b = appendKeyInt(b, "flows", g.flows)
	b = appendKeyBool(b, "overflow", g.overflow)
	if g.overflow {
		b = append(b, `,"pattern":"","closer":"","anomalies":[],"service":"","client_host":null,"client_hosts":0,"client_hosts_exact":true,"service_flows":null,"share":null`...)
	} else {
		b = appendKeyString(b, "pattern", g.key.pattern.String())
		b = appendKeyString(b, "closer", g.key.closer.String())
		b = append(b, `,"anomalies":[`...)
		for i, ks := range g.key.kindSides() {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"kind":`...)
			b = appendJSONString(b, ks.kind.String())
			b = appendKeyString(b, "endpoint", ks.side.String())
			b = append(b, '}')
		}
		b = append(b, ']')
		b = appendKeyEndpoint(b, "service", g.key.service)
		if g.folded {
			b = append(b, `,"client_host":null`...)
		} else {
			b = appendKeyString(b, "client_host", g.host.String())
		}
		n, exact := int64(1), true
		if g.folded {
			n, exact = g.hosts.count()
		}
		b = appendKeyInt(b, "client_hosts", n)
		b = appendKeyBool(b, "client_hosts_exact", exact)
		if sf, ok := gr.serviceFlows(g.key.service); ok {
			b = appendKeyInt(b, "service_flows", sf)
			b = append(b, `,"share":`...)
			b = appendJSONFloat(b, float64(g.flows)/float64(sf))
		} else {
			b = append(b, `,"service_flows":null,"share":null`...)
		}
	}
	b = appendKeyTime(b, "first_time", g.first)
	b = appendKeyTime(b, "last_time", g.last)
	b = appendKeyInt(b, "exemplar", g.streams[0])
	b = append(b, `,"streams":[`...)
	for i, id := range g.streams[1:g.nstreams] {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	b = append(b, ']')
	b = appendKeyString(b, "verdict", string(g.verdict))
	return append(b, '}')
}
