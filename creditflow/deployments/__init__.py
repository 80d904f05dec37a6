"""Deployments: each Ops-Center API the suite can drive, behind one interface (deployment.Deployment) made of one
small interface per capability (capabilities.py) and one reader per part of the books (readers.py).

To add one: write a package here with a `Deployment` subclass and an async `connect(config, evidence, run_marks)`,
and name it below (or name it as `module:Class`). README.md, "Deployments", says what each capability must do.
"""

import importlib

from creditflow.config import Config, ConfigError
from creditflow.deployments.deployment import Deployment
from creditflow.evidence import Evidence

DEPLOYMENTS = {
    "contract": "creditflow.deployments.contract.deployment:ContractDeployment",
    "ops-center-oss": "creditflow.deployments.ops_center_oss.deployment:OpsCenterOssDeployment",
}


def deployment_class(name: str) -> type[Deployment]:
    """A deployment named here, or any other named by its module and class (`package.module:Class`)."""
    if name not in DEPLOYMENTS and ":" not in name:
        raise ConfigError(f"unknown deployment {name!r}: choose one of {', '.join(DEPLOYMENTS)}, or name a "
                          "Deployment class as module:Class")
    module, _, class_name = DEPLOYMENTS.get(name, name).partition(":")
    try:
        found = getattr(importlib.import_module(module), class_name)
    except (ImportError, AttributeError) as error:
        raise ConfigError(f"no deployment {name!r}: {error}") from None
    if not (isinstance(found, type) and issubclass(found, Deployment)):
        raise ConfigError(f"{name!r} is not a Deployment class")
    return found


async def connect(config: Config, evidence: Evidence, run_marks: dict[str, str]) -> Deployment:
    """The deployment the configuration names, connected; every account it creates carries `run_marks`."""
    return await deployment_class(config.deployment).connect(config, evidence, run_marks)
