package faults

import (
	"errors"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// unread is how many bytes c's socket holds that nobody has read yet.
func unread(c net.Conn) int {
	var n int
	var err error
	if cerr := control(c, func(fd int) { n, err = unix.IoctlGetInt(fd, unix.SIOCINQ) }); cerr != nil || err != nil {
		return 0 // a closed socket holds nothing to read
	}
	return n
}

// unaccepted is how many connections wait in ln's accept queue (for a
// listening socket, Linux reports its queue's length as tcpi_unacked).
func unaccepted(ln net.Listener) int {
	var info *unix.TCPInfo
	var err error
	if cerr := control(ln, func(fd int) { info, err = unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO) }); cerr != nil || err != nil {
		return 0 // a closed listener queues nothing
	}
	return int(info.Unacked)
}

// control runs f on s's file descriptor.
func control(s any, f func(fd int)) error {
	sc, ok := s.(syscall.Conn)
	if !ok {
		return errors.New("no file descriptor")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	return rc.Control(func(fd uintptr) { f(int(fd)) })
}
