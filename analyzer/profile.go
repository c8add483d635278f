package analyzer

import "time"

// Profile holds every point where Linux departs from RFC 793/9293 in the
// close machines. The machines read these fields and nothing else, so the two
// profiles can be compared side by side here: each field but Name and
// KernelPaths is one behavioural difference.
type Profile struct {
	Name string

	// TimeWait is how long TIME_WAIT lasts. RFC 793 §3.5: 2*MSL with MSL two
	// minutes. Linux: TCP_TIMEWAIT_LEN, a fixed 60 s (include/net/tcp.h).
	TimeWait time.Duration

	// OrphanFinWait2Timeout: an orphaned FIN_WAIT_2 (closed, not just
	// shut down) is destroyed after tcp_fin_timeout (tcp_close →
	// tcp_time_wait(sk, TCP_FIN_WAIT2, tmo)). RFC 793 waits forever.
	OrphanFinWait2Timeout bool

	// RSTKillsTimeWait: an in-window RST ends TIME_WAIT (RFC 793 p.37,
	// tcp_timewait_state_process "TIME_WAIT assassination"). Linux keeps
	// the TIME_WAIT when net.ipv4.tcp_rfc1337=1 (Config.RFC1337).
	RSTKillsTimeWait bool

	// ResetOnUnreadClose: close() with unread received data sends RST, not
	// FIN (tcp_close: TCPAbortOnClose; RFC 2525 §2.17 recommends it).
	// RFC 793 sends FIN.
	ResetOnUnreadClose bool

	// ResetOnDataAfterClose: data arriving after close() (orphaned
	// FIN_WAIT_1/2) is answered with RST (tcp_rcv_state_process:
	// TCPAbortOnData). RFC 793 accepts it in FIN_WAIT states.
	ResetOnDataAfterClose bool

	// ChallengeACK: an in-window RST whose sequence number is not exactly
	// rcv_nxt is answered with an ACK and ignored (RFC 5961 §3.2,
	// tcp_validate_incoming → tcp_send_challenge_ack). RFC 793 accepts any
	// in-window RST.
	ChallengeACK bool

	// ResetAtFINSeq: after the peer's FIN, a RST at the FIN's own sequence
	// number (one before rcv_nxt) is accepted as exact in CLOSE_WAIT,
	// LAST_ACK and CLOSING (tcp_reset_check: a peer that reset after its
	// FIN without counting the FIN). RFC 9293 §3.10.7.4 takes only rcv_nxt.
	ResetAtFINSeq bool

	// KernelPaths picks words only, never behaviour: the Linux words of
	// the rule and kind tables (rules.go, kinds.go), which name the kernel
	// function that acted, or the RFC's.
	KernelPaths bool
}

// Linux models the Linux kernel's TCP (net/ipv4/tcp*.c) with default sysctls.
var Linux = Profile{
	Name:                  "linux",
	TimeWait:              60 * time.Second,
	OrphanFinWait2Timeout: true,
	RSTKillsTimeWait:      true,
	ResetOnUnreadClose:    true,
	ResetOnDataAfterClose: true,
	ChallengeACK:          true,
	ResetAtFINSeq:         true,
	KernelPaths:           true,
}

// RFC793 models the specification (RFC 793 as restated by RFC 9293), without
// the later hardening of RFC 5961 and RFC 1337.
var RFC793 = Profile{
	Name:                  "rfc793",
	TimeWait:              4 * time.Minute,
	OrphanFinWait2Timeout: false,
	RSTKillsTimeWait:      true,
	ResetOnUnreadClose:    false,
	ResetOnDataAfterClose: false,
	ChallengeACK:          false,
	ResetAtFINSeq:         false,
	KernelPaths:           false,
}

// ProfileByName returns the named profile ("linux" or "rfc793").
func ProfileByName(name string) (*Profile, bool) {
	switch name {
	case "linux":
		return &Linux, true
	case "rfc793", "rfc9293":
		return &RFC793, true
	}
	return nil, false
}

// DefaultConfig returns the defaults the CLI uses.
func DefaultConfig() Config {
	return Config{
		Profile:     &Linux,
		FinTimeout:  60 * time.Second,
		StuckAfter:  5 * time.Second,
		IdleTimeout: 5 * time.Minute,
		Grace:       2 * time.Second,
		MaxFlows:    250_000, // ~1 GiB at worst (a SYN flood): docs/robustness.md
		MaxSegments: 64,
	}
}
