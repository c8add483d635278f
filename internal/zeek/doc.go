// Package zeek reproduces, per connection, the conn.log fields conn_state
// and history exactly as Zeek's TCP analyzer computes them (conn.go says
// from which of Zeek's sources), so that finwave's reports can be joined
// with Zeek's logs and checked against Zeek's classification.
//
// A Conn is fed every segment of one connection in capture order
// (ObserveSegment); it holds no pointers and never allocates.
package zeek
