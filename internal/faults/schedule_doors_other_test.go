//go:build !linux

package faults

import "net"

// unread and unaccepted are 0 where a socket's queues cannot be read: a
// request in a door's socket is then seen once its server reads it.
func unread(net.Conn) int { return 0 }

func unaccepted(net.Listener) int { return 0 }
