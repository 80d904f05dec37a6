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


async def connect(config: Config, evidence: Evidence) -> Deployment:
    if config.deployment not in DEPLOYMENTS:
        raise ConfigError(f"unknown deployment {config.deployment!r}: choose one of {', '.join(DEPLOYMENTS)}")
    module, _, name = DEPLOYMENTS[config.deployment].partition(":")
    return await getattr(importlib.import_module(module), name).connect(config, evidence)
