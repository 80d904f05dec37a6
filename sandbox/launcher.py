"""The embedded sandbox as a run's launcher (creditflow.launcher.Launcher): the one way a run starts it."""

from pathlib import Path

from creditflow.config import ConfigError
from sandbox import product
from sandbox import stack as sandbox


class SandboxLauncher:
    def __init__(self, say=print):
        self._say = say

    def start(self, ops_center_source: str | None = None) -> dict[str, str]:
        self._say("creditflow: starting the embedded sandbox (or reusing the running one)...")
        try:
            if ops_center_source:
                self._say(f"creditflow: running the real Ops-Center from {ops_center_source}")
                return sandbox.start_product(ops_center_source).suite_settings(product=True)
            return sandbox.up().suite_settings()
        except sandbox.StartError as error:
            raise ConfigError(f"the embedded sandbox cannot start: {error}") from None

    def versions(self) -> dict[str, str]:
        return sandbox.versions()

    def version_of(self, ops_center_source: str | None) -> str:
        if ops_center_source:
            return product.version(Path(ops_center_source))
        return "reference"  # one report and one set of expectations, whatever commit of the suite ran it

    def how_the_product_runs(self) -> list[str]:
        running = sandbox.Stack.load()
        return product.how_it_runs(Path(running.product_source)) if running and running.product_source else []

    def product_boot_s(self) -> str:
        running = sandbox.Stack.load()
        return str(running.timings.get("ops_center_oss", "?")) if running else "?"

    def restart_product(self) -> str:
        connections = sandbox.product_connections()
        sandbox.restart_product()
        return connections
