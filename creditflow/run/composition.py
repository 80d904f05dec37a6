"""One run of the suite, opened the same way by behave's hooks, the scripts, the benchmark and the tests.

`configure` resolves the settings, starting the target's systems through a launcher where they run on this
machine; `open_run` connects to them. What the run made is removed by `close`, and `finish` has the writers
write its reports.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from creditflow.config import Config, ConfigError, resolve
from creditflow.deployments.declarations import Capability
from creditflow.launcher import Launcher
from creditflow.reporting.guide_reports import ScenarioResult
from creditflow.reporting.writers import Finished, finish
from creditflow.rules.money import Conservation
from creditflow.run.leftovers import remove_leftovers
from creditflow.screenplay.scene import Scene, Undo
from creditflow.screenplay.services import Services


class RunCannotStart(Exception):
    """The run cannot begin; the message says why in a line, without a stack trace."""


def configure(userdata: dict[str, str], launcher: Launcher, environ: dict[str, str] | None = None) -> Config:
    try:
        return resolve(userdata, environ, start_embedded=launcher.start)
    except ConfigError as error:
        raise RunCannotStart(f"configuration: {error}") from None


async def open_run(config: Config, launcher: Launcher, under_load: bool = False) -> "Run":
    """Connects to the target and asks Ops-Center for its health, which proves it is reachable."""
    try:
        services = await Services.connect(config, under_load)
        health = await services.deployment.health()
    except (OSError, httpx.HTTPError) as error:
        raise RunCannotStart(f"the target {config.target} is unreachable ({type(error).__name__}: {error}); "
                             f"checked {config.describe()}") from None
    except ConfigError as error:
        raise RunCannotStart(f"configuration: {error}") from None
    return Run(config, services, launcher, health.value if health.ok else health.describe())


async def opened(userdata: dict[str, str], launcher: Launcher, environ: dict[str, str] | None = None) -> "Run":
    """A run configured and connected: what a script or a test opens."""
    return await open_run(configure(userdata, launcher, environ), launcher)


@dataclass
class Run:
    config: Config
    services: Services
    launcher: Launcher
    health: object
    started: float = field(default_factory=time.monotonic)
    results: list[ScenarioResult] = field(default_factory=list)

    def describe(self) -> str:
        return (f"target {self.config.target}, deployment {self.config.deployment}, Ops-Center health "
                f"{self.health}")

    async def remove_leftovers(self) -> str:
        """What runs that died left behind, removed; in a line."""
        return self.services.redactor.text((await remove_leftovers(self.services.deployment)).describe())

    def scene(self, add_cleanup: Callable[[str, Undo], None] | None = None) -> Scene:
        return Scene(self.services, add_cleanup)

    def restart_if_stuck(self, unanswered: int) -> str | None:
        """A product the sandbox runs from a checkout, which left requests unanswered, is restarted so that the
        cleanups and the next scenarios reach it; the fact, in a line, or None."""
        if not unanswered or self.config.target != "embedded" or not self.config.ops_center_source:
            return None
        connections = self.launcher.restart_product()
        return (f"Ops-Center left {unanswered} requests unanswered in this scenario (its database connections "
                f"then: {connections}); the sandbox restarted it")

    async def close(self) -> Conservation | None:
        """Money over the run, checked once every scenario has ended, then every connection closed."""
        services = self.services
        checkable = self.results and services.deployment.has(Capability.LEDGER)
        money = await services.money.check(services.deployment) if checkable else None
        await services.close()
        return money

    def finish(self, money: Conservation | None, allure_results: Path, say=print) -> None:
        finish(Finished(self.config, self.results, self.services.metrics.samples, money, self.services.redactor,
                        self.services.run_id, time.monotonic() - self.started, allure_results, self.launcher), say)
