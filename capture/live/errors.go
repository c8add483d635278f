package live

import "errors"

// Errors a user meets when opening a capture, reachable with errors.Is.
var (
	// ErrNoInterface: no interface by that name.
	ErrNoInterface = errors.New("no such interface")
	// ErrNotPermitted: AF_PACKET sockets need root or CAP_NET_RAW.
	ErrNotPermitted = errors.New("not permitted: capturing needs root or the CAP_NET_RAW capability")
	// ErrInterfaceDown: the interface exists but is not up.
	ErrInterfaceDown = errors.New("interface is down")
)
