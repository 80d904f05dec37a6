"""Deployments: each Ops-Center API the suite can drive, behind one interface (base.Deployment).

To add one: write a module here with a `Deployment` subclass and an async `connect(config, evidence)`,
and name it below. README.md, "Deployments", says what each method must do.
"""

import importlib

from creditflow.config import Config, ConfigError
from creditflow.deployments.base import Deployment
from creditflow.evidence import Evidence

DEPLOYMENTS = {
    "contract": "creditflow.deployments.contract:ContractDeployment",
    "ops-center-oss": "creditflow.deployments.ops_center_oss:OpsCenterOssDeployment",
}


def deployment_class(name: str) -> type[Deployment]:
    if name not in DEPLOYMENTS:
        raise ConfigError(f"unknown deployment {name!r}: choose one of {', '.join(DEPLOYMENTS)}")
    module, _, class_name = DEPLOYMENTS[name].partition(":")
    return getattr(importlib.import_module(module), class_name)


async def connect(config: Config, evidence: Evidence) -> Deployment:
    return await deployment_class(config.deployment).connect(config, evidence)
