// Package netnstest makes the network namespaces the tests of finwave's
// host-side packages run in: two namespaces joined by a veth pair, a
// command run inside one, and a function run by a thread that entered one
// (to open a netlink socket, read /proc/thread-self/net, or attach a
// program there). Every helper skips the test, with the reason, when the
// machine does not allow it (not root, no iproute2, no namespaces).
package netnstest
