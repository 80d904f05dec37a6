"""An HTTPS proxy on loopback that answers for the LLM providers' public hosts, and nothing else.

The real Ops-Center sends BYOK calls to a hard-coded https://openrouter.ai. Given to that process alone
(HTTPS_PROXY, with SSL_CERT_FILE naming this proxy's throwaway CA), the proxy accepts CONNECT for the
provider hosts only, terminates TLS with a certificate the CA signed, and hands each request to the
provider double over plain HTTP: the call is served as OpenRouter would serve it, with the key it
carried, and no traffic leaves the machine. Any other host is refused (403).

A build may also reach a part of the stack by a public name its code builds (saashqdev/ops-center posts its
sign-in to https://auth.<EXTERNAL_HOST>, sandbox/product.py): each HOST=URL given answers for HOST with the
sandbox's part at URL, as the deployment's proxy would route that name to it.

    python -m sandbox.doubles.egress PORT PROVIDER_URL CA_DIR [HOST=URL ...]
"""

import asyncio
import datetime
import ssl
import sys
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

PROVIDER_HOSTS = ("openrouter.ai", "api.openai.com", "api.anthropic.com")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "upgrade", "host",
              "content-length", "accept-encoding"}


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_authority(directory: Path, hosts: tuple[str, ...]) -> tuple[Path, Path, Path]:
    """A throwaway CA and one certificate for `hosts`: (ca.pem, cert.pem, key.pem)."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    authority = _name("creditflow sandbox CA")
    ca = (x509.CertificateBuilder().subject_name(authority).issuer_name(authority)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name(hosts[0])).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    paths[2].chmod(0o600)
    return paths


class Egress:
    def __init__(self, upstreams: dict[str, str], cert: Path, key: Path):
        """`upstreams`: the URL that answers for each host the proxy accepts."""
        self.tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.tls.load_cert_chain(cert, key)
        self.clients = {host: httpx.AsyncClient(base_url=url.rstrip("/"), timeout=120)
                        for host, url in upstreams.items()}

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = (await reader.readline()).decode("latin-1").split()
            await self._headers(reader)
            host = request_line[1].rsplit(":", 1)[0] if len(request_line) > 1 else ""
            if len(request_line) < 2 or request_line[0] != "CONNECT" or host not in self.clients:
                writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
                return
            writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            await writer.drain()
            await writer.start_tls(self.tls)
            await self._serve(self.clients[host], reader, writer)
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError, IndexError):
            pass
        finally:
            writer.close()

    @staticmethod
    async def _headers(reader: asyncio.StreamReader) -> dict[str, str]:
        headers = {}
        while (line := (await reader.readline()).decode("latin-1").strip()):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return headers

    @staticmethod
    async def _serve(upstream: httpx.AsyncClient, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One request on the decrypted connection, handed to the host's upstream; then the connection ends."""
        method, path, _ = (await reader.readline()).decode("latin-1").split(" ", 2)
        headers = await Egress._headers(reader)
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        sent = {name: value for name, value in headers.items() if name not in HOP_BY_HOP}
        answer = await upstream.request(method, path, headers=sent, content=body)
        head = [f"HTTP/1.1 {answer.status_code} {answer.reason_phrase}"]
        head += [f"{name}: {value}" for name, value in answer.headers.items() if name.lower() not in HOP_BY_HOP]
        head += [f"Content-Length: {len(answer.content)}", "Connection: close", "", ""]
        writer.write("\r\n".join(head).encode("latin-1") + answer.content)
        await writer.drain()


async def serve(port: int, provider_url: str, ca_dir: Path, routes: dict[str, str]) -> None:
    upstreams = dict.fromkeys(PROVIDER_HOSTS, provider_url) | routes
    _, cert, key = make_authority(ca_dir, tuple(upstreams))
    egress = Egress(upstreams, cert, key)
    server = await asyncio.start_server(egress.handle, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), sys.argv[2], Path(sys.argv[3]),
                      dict(route.split("=", 1) for route in sys.argv[4:])))
