"""What a run asks of whatever starts a target's systems on this machine (the embedded sandbox).

creditflow/ never imports the sandbox: whoever opens a run (behave's hooks, a script, the tests) hands it a
launcher, which a target whose systems run elsewhere (compose, remote) is never asked to start.
"""

from typing import Protocol


class Launcher(Protocol):
    def start(self, ops_center_source: str | None = None) -> dict[str, str]:
        """Starts the systems (or finds them running) and returns their settings; with a checkout of the real
        Ops-Center, the product runs from it instead of the reference. Raises ConfigError when a part cannot start."""

    def versions(self) -> dict[str, str]:
        """The version of each system it runs."""

    def version_of(self, ops_center_source: str | None) -> str:
        """The version of the Ops-Center it runs: the checkout's commit, or the reference's build."""

    def how_the_product_runs(self) -> list[str]:
        """What it does to run a real product that the product's own deployment would do otherwise."""

    def product_boot_s(self) -> str:
        """How long the product took to start, in seconds."""

    def restart_product(self) -> str:
        """Restarts a product that stopped answering; returns its database connections before the restart."""

