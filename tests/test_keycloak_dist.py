"""Keycloak's distribution in the download cache (sandbox/keycloak_dist.py): fetched whole, its SHA-512 checked, or
not at all; and importable before the suite's Python packages are, as scripts/setup.sh runs it."""

import hashlib
import io
import subprocess
import sys
import threading
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sandbox import keycloak_dist

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def repository(tmp_path, monkeypatch) -> Path:
    """A Maven repository on loopback serving a small distribution, and a cache of the test's own."""
    served = tmp_path / "repository"
    archive = served / keycloak_dist.ARCHIVE
    archive.parent.mkdir(parents=True)
    contents = io.BytesIO()
    with zipfile.ZipFile(contents, "w") as zipped:
        script = zipfile.ZipInfo(f"keycloak-{keycloak_dist.VERSION}/bin/kc.sh")
        script.external_attr = 0o755 << 16
        zipped.writestr(script, "#!/bin/sh\n")
        zipped.writestr(f"keycloak-{keycloak_dist.VERSION}/conf/keycloak.conf", "# conf\n")
    archive.write_bytes(contents.getvalue())
    archive.with_name(archive.name + ".sha512").write_text(hashlib.sha512(contents.getvalue()).hexdigest() + "\n")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(served)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    cache = tmp_path / "cache"
    monkeypatch.setattr(keycloak_dist, "REPOSITORY", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setattr(keycloak_dist, "CACHE_DIR", cache)
    monkeypatch.setattr(keycloak_dist, "HOME", cache / f"keycloak-{keycloak_dist.VERSION}")
    monkeypatch.setattr(keycloak_dist, "BUILD_MARK", keycloak_dist.HOME / ".creditflow-build")
    yield archive
    server.shutdown()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_the_distribution_is_unpacked_with_its_modes_and_fetched_once(repository):
    assert keycloak_dist.missing() == ["download", "build"]
    assert keycloak_dist.download() is True
    assert (keycloak_dist.HOME / "bin" / "kc.sh").stat().st_mode & 0o777 == 0o755
    assert (keycloak_dist.HOME / "conf" / "keycloak.conf").read_text() == "# conf\n"
    assert keycloak_dist.missing() == ["build"]
    assert keycloak_dist.download() is False
    assert sorted(path.name for path in keycloak_dist.CACHE_DIR.iterdir()) == [
        f"keycloak-{keycloak_dist.VERSION}", f"keycloak-{keycloak_dist.VERSION}.lock"]


def test_an_archive_that_does_not_match_its_checksum_is_refused_and_nothing_is_left(repository):
    repository.write_bytes(repository.read_bytes() + b"tampered")
    with pytest.raises(keycloak_dist.DistributionError, match="does not match its published SHA-512"):
        keycloak_dist.download()
    assert keycloak_dist.missing() == ["download", "build"]
    assert [path.name for path in keycloak_dist.CACHE_DIR.iterdir()] == [f"keycloak-{keycloak_dist.VERSION}.lock"]


def test_a_repository_without_the_archive_is_named_in_the_error(repository):
    repository.unlink()
    with pytest.raises(keycloak_dist.DistributionError, match=r"could not fetch and unpack http://127\.0\.0\.1:\d+/"
                                                              r"org/keycloak/.*\.zip: HTTP Error 404"):
        keycloak_dist.download()


def test_it_imports_with_the_standard_library_alone():
    # -S: no site-packages, as before setup has installed the suite's packages; -I: none of the caller's PYTHON*.
    imported = subprocess.run([sys.executable, "-I", "-S", "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
                               "import sandbox.keycloak_dist"], capture_output=True, text=True)
    assert imported.returncode == 0, imported.stderr
