"""Keycloak's distribution, in the download cache and shared by every checkout: downloaded once from Maven Central,
then built once for PostgreSQL; each checkout's stack only reads it (sandbox/stack.py).

The standard library only: scripts/setup.sh runs it before the suite's Python packages are installed, so that
Keycloak's download and build, the first command's longest wait, start at once.

    python -m sandbox.keycloak_dist missing   prints what is still to do: download, build, both or nothing
    python -m sandbox.keycloak_dist download  fetches and unpacks the distribution, its SHA-512 checked
    python -m sandbox.keycloak_dist build     builds it for PostgreSQL
"""

import argparse
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from contextlib import contextmanager
from pathlib import Path

VERSION = "26.7.3"
CACHE_DIR = Path(os.environ.get("CREDITFLOW_CACHE", Path.home() / ".cache" / "creditflow"))
HOME = CACHE_DIR / f"keycloak-{VERSION}"
# Where Maven would fetch it from; a mirror of Maven Central, where one must be used, serves the same path.
REPOSITORY = os.environ.get("CREDITFLOW_MAVEN_REPOSITORY", "https://repo1.maven.org/maven2").rstrip("/")
ARCHIVE = f"org/keycloak/keycloak-quarkus-dist/{VERSION}/keycloak-quarkus-dist-{VERSION}.zip"
BUILD_OPTIONS = ("--db=postgres", "--health-enabled=true")
BUILT_WITH = " ".join(BUILD_OPTIONS)
BUILD_MARK = HOME / ".creditflow-build"  # holds the options the distribution was built with
TIMEOUT_S = 60  # of each read from the repository, not of the whole download


class DistributionError(Exception):
    """The distribution could not be fetched or built: the message says which, and why."""


def downloaded() -> bool:
    return (HOME / "bin" / "kc.sh").exists()


def built() -> bool:
    return BUILD_MARK.exists() and BUILD_MARK.read_text() == BUILT_WITH


def missing() -> list[str]:
    if not downloaded():
        return ["download", "build"]
    return [] if built() else ["build"]


@contextmanager
def held():
    """One checkout at a time fetches or builds the shared distribution; another one waits, then finds it done."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with open(CACHE_DIR / f"keycloak-{VERSION}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def download() -> bool:
    """Fetches the distribution and unpacks it into the cache, whole or not at all. Returns whether it had to."""
    with held():
        if downloaded():
            return False
        url = f"{REPOSITORY}/{ARCHIVE}"
        archive = CACHE_DIR / f"keycloak-{VERSION}.zip.part"
        unpacking = CACHE_DIR / f".keycloak-{VERSION}.unpacking"
        try:
            expected = fetch(f"{url}.sha512").split()[0].lower()
            digest = hashlib.sha512()
            with urllib.request.urlopen(url, timeout=TIMEOUT_S) as answer, open(archive, "wb") as out:
                while chunk := answer.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
            if digest.hexdigest() != expected:
                raise DistributionError(f"Keycloak {VERSION}: the archive from {url} does not match its published "
                                        "SHA-512; nothing was unpacked")
            shutil.rmtree(unpacking, ignore_errors=True)
            unpack(archive, unpacking)
            shutil.rmtree(HOME, ignore_errors=True)  # a distribution left half there by an older setup
            (unpacking / f"keycloak-{VERSION}").rename(HOME)
        except (urllib.error.URLError, OSError, zipfile.BadZipFile) as error:
            raise DistributionError(f"Keycloak {VERSION}: could not fetch and unpack {url}: {error}") from None
        finally:
            archive.unlink(missing_ok=True)
            shutil.rmtree(unpacking, ignore_errors=True)
        return True


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as answer:
        return answer.read().decode()


def unpack(archive: Path, into: Path) -> None:
    """Unzips with each file's mode (zipfile drops it, and kc.sh must stay executable)."""
    with zipfile.ZipFile(archive) as zipped:
        for member in zipped.infolist():
            path = zipped.extract(member, into)
            mode = member.external_attr >> 16
            if mode and not member.is_dir():
                os.chmod(path, mode & 0o777)


def build() -> bool:
    """Builds the downloaded distribution for PostgreSQL (Keycloak's build step). Returns whether it had to."""
    with held():
        if not downloaded():
            raise DistributionError(f"Keycloak {VERSION}: the distribution is missing from {HOME}; download it first")
        if built():
            return False
        # The build is a JVM that runs once for some 20 s: compiled by the JIT's first tier only, it took half the
        # CPU (15 s against 26 to 35 s) and 20 s against 24 to 28 s. The server itself keeps both tiers.
        quick_jit = " ".join(filter(None, [os.environ.get("JAVA_OPTS_APPEND", ""), "-XX:TieredStopAtLevel=1"]))
        finished = subprocess.run(["bash", str(HOME / "bin" / "kc.sh"), "build", *BUILD_OPTIONS],
                                  env={**os.environ, "JAVA_OPTS_APPEND": quick_jit})
        if finished.returncode != 0:
            raise DistributionError(f"Keycloak {VERSION}: its build for PostgreSQL failed (exit "
                                    f"{finished.returncode}); its output is above")
        BUILD_MARK.write_text(BUILT_WITH)
        return True


def main(arguments: list[str]) -> int:
    steps = {"missing": lambda: print(" ".join(missing())), "download": download, "build": build}
    parser = argparse.ArgumentParser(prog="python -m sandbox.keycloak_dist",
                                     description=f"Keycloak {VERSION}'s distribution in {HOME}.")
    parser.add_argument("step", choices=steps, help="missing: print what is still to do; download: fetch and unpack "
                        "it, its SHA-512 checked; build: build it for PostgreSQL")
    try:
        steps[parser.parse_args(arguments).step]()
    except DistributionError as error:
        print(error, file=sys.stderr)  # it names Keycloak and its version itself
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
