"""Machines of their own for a test, on this one: network namespaces (Linux, root), each joined to this machine's
namespace by a veth pair of its own on a bridge, so that what runs in one reaches the others only across its pair;
and a forwarder that makes the embedded stack, which listens on this machine's loopback, answer on the same
addresses inside each namespace (as a target on another host answers every worker)."""

import contextlib
import ctypes
import os
import secrets
import shutil
import socket
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)


def usable() -> str | None:
    """Why namespaces cannot be made here, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "no ip command (iproute2) to make network namespaces with"
    probe = f"cfprobe-{secrets.token_hex(3)}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode:
        return f"ip netns cannot make a namespace here: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], check=True)
    return None


def ip(*args: str) -> str:
    return subprocess.run(["ip", *args], check=True, capture_output=True, text=True).stdout


@dataclass
class Network:
    """A bridge on this machine with `hosts` namespaces on it: the bridge's address is `address`, the i-th
    namespace's `addresses[i]`, each reached through its own veth pair."""

    hosts: int
    tag: str = field(default_factory=lambda: secrets.token_hex(2))
    subnet: str = field(default_factory=lambda: f"10.29.{secrets.randbelow(250) + 1}")
    namespaces: list[str] = field(default_factory=list)

    @property
    def bridge(self) -> str:
        return f"cf{self.tag}br"

    @property
    def address(self) -> str:
        return f"{self.subnet}.1"

    @property
    def addresses(self) -> list[str]:
        return [f"{self.subnet}.{n + 2}" for n in range(self.hosts)]

    def veth(self, n: int) -> str:
        return f"cf{self.tag}v{n}"

    def __enter__(self) -> "Network":
        try:
            ip("link", "add", self.bridge, "type", "bridge")
            ip("addr", "add", f"{self.address}/24", "dev", self.bridge)
            ip("link", "set", self.bridge, "up")
            for n, address in enumerate(self.addresses):
                namespace = f"cf{self.tag}-host{n}"
                ip("netns", "add", namespace)
                self.namespaces.append(namespace)
                ip("link", "add", self.veth(n), "type", "veth", "peer", "name", "eth0", "netns", namespace)
                ip("link", "set", self.veth(n), "master", self.bridge)
                ip("link", "set", self.veth(n), "up")
                ip("-n", namespace, "addr", "add", f"{address}/24", "dev", "eth0")
                ip("-n", namespace, "link", "set", "eth0", "up")
                ip("-n", namespace, "link", "set", "lo", "up")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_) -> None:
        for n, namespace in enumerate(self.namespaces):
            subprocess.run(["ip", "link", "del", self.veth(n)], capture_output=True)
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)

    def links(self, n: int) -> list[str]:
        """The network interfaces the n-th namespace has."""
        return [line.split()[0].split("@")[0] for line in ip("-n", self.namespaces[n], "-br", "link").splitlines()]

    def bytes_across(self, n: int) -> int:
        """Bytes the n-th namespace's veth pair carried, both ways."""
        stats = Path(f"/sys/class/net/{self.veth(n)}/statistics")
        return sum(int((stats / f"{way}_bytes").read_text()) for way in ("rx", "tx"))

    def command(self, n: int, command: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.namespaces[n], *command]


@contextlib.contextmanager
def entered(namespace: str):
    """This thread in `namespace` (its listening sockets stay there), then back in its own."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{namespace}", os.O_RDONLY)
    try:
        if libc.setns(target, CLONE_NEWNET):
            raise OSError(ctypes.get_errno(), f"setns into {namespace}")
        yield
    finally:
        libc.setns(own, CLONE_NEWNET)
        os.close(own)
        os.close(target)


class Forwarder:
    """Listens on 127.0.0.1:`port` inside each namespace, for each port, and passes every connection on to the same
    port on this machine's loopback, from the loopback address the client called from (a load user's own)."""

    def __init__(self, namespaces: list[str], ports: list[int]):
        self._listeners = []
        for namespace in namespaces:
            with entered(namespace):
                self._listeners += [(socket.create_server(("127.0.0.1", port)), port) for port in ports]
        for listener, port in self._listeners:
            threading.Thread(target=self._accept, args=(listener, port), daemon=True).start()

    def _accept(self, listener: socket.socket, port: int) -> None:
        with contextlib.suppress(OSError):  # the listener closed
            while True:
                client, (address, _) = listener.accept()
                threading.Thread(target=self._connect, args=(client, address, port), daemon=True).start()

    @staticmethod
    def _connect(client: socket.socket, address: str, port: int) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", port), source_address=(address, 0))
        except OSError:
            client.close()
            return
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=pipe, args=(source, sink), daemon=True).start()

    def close(self) -> None:
        for listener, _ in self._listeners:
            listener.close()


def pipe(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)
