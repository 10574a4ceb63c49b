#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# listen.py NAME [v6]: every listener of one test guest, in the namespace it is started in, as
# one process (twelve socat processes, each forking a shell per connection, cost a case about half
# a second before it began on a slow machine).
#   IPv4:      TCP :22 answers "NAME", TCP :80..:89 "NAME port PORT", UDP :27015 "NAME"
#   v6:        IPv6 only: TCP :22 "NAME v6", TCP :80, :81 "NAME v6 port PORT", UDP :27015
#              "NAME v6"
# A TCP client gets its line, then the connection is closed; a UDP datagram gets its line back
# from :27015. Runs until killed.
import selectors
import socket
import sys


def tcp(family, port, line):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", port))
    s.listen(128)
    return s, line


def udp(family, port, line):
    s = socket.socket(family, socket.SOCK_DGRAM)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", port))
    return s, line


def sockets(name, v6):
    if v6:
        fam, me, ports = socket.AF_INET6, name + " v6", (80, 81)
    else:
        fam, me, ports = socket.AF_INET, name, range(80, 90)
    yield tcp(fam, 22, me)
    for p in ports:
        yield tcp(fam, p, "%s port %d" % (me, p))
    yield udp(fam, 27015, me)


def answer(s, line):
    data = (line + "\n").encode()
    if s.type == socket.SOCK_DGRAM:
        _, peer = s.recvfrom(65535)
        s.sendto(data, peer)
        return
    c, _ = s.accept()
    try:
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # the client went away first: nothing to answer
    c.close()


def main():
    if len(sys.argv) not in (2, 3) or sys.argv[2:] not in ([], ["v6"]):
        sys.exit("usage: listen.py NAME [v6]")
    sel = selectors.DefaultSelector()
    for s, line in sockets(sys.argv[1], sys.argv[2:] == ["v6"]):
        sel.register(s, selectors.EVENT_READ, line)
    while True:
        for key, _ in sel.select():
            try:
                answer(key.fileobj, key.data)
            except OSError:
                pass  # one failed answer (an ICMP error on UDP, a reset): go on serving


if __name__ == "__main__":
    main()
