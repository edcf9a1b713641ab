"""The ports the tests, the bench and a cluster give their servers (bot.stack.free_port)."""

import socket

from bot.stack import _outgoing_ports_start, free_port


def test_a_free_port_is_outside_the_range_outgoing_connections_take_theirs_from():
    # a port from that range can be taken as the source port of a connection before the server
    # binds it, and the server then fails to start (CI, 2026-12-01: the action server exited 0)
    ports = {free_port() for _ in range(50)}
    assert all(1024 < port < _outgoing_ports_start() for port in ports), sorted(ports)
    assert len(ports) > 40, "spread out, so two servers started together rarely draw the same port"


def test_a_free_port_can_be_bound_and_one_in_use_is_never_given():
    port = free_port()
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))
        server.listen()
        assert port not in {free_port() for _ in range(200)}
