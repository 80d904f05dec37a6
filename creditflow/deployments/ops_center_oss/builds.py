"""The builds of Ops-Center the ops-center-oss deployment speaks to, and what differs between them.

Each build is declared once, keyed by its commit: the one a checkout is or descends from, as the sandbox boots it
(sandbox/product.py, BUILDS), or the one a remote target names (OPS_CENTER_BUILD). What the adapter does differently
for a build (a route, an id's form, a feature it lacks, the lines a workaround cites) is read from its declaration
here and in the build's own module beside this one, never guessed at run time from the product's answers.
"""

from dataclasses import dataclass

from creditflow.config import Config, ConfigError
from creditflow.deployments.declarations import DeployedFinding, Limits, Workaround
from creditflow.deployments.ops_center_oss.oss_af179f13cf24 import (
    OSS_DEPLOYED_FINDINGS,
    OSS_LACKS,
    OSS_LIMITS,
    OSS_WORKAROUNDS,
)
from creditflow.deployments.ops_center_oss.oss_v2_5_0 import (
    V2_5_0_DEPLOYED_FINDINGS,
    V2_5_0_LACKS,
    V2_5_0_LIMITS,
    V2_5_0_WORKAROUNDS,
)
from creditflow.deployments.ops_center_oss.saashq_283233d import (
    SAASHQ_DEPLOYED_FINDINGS,
    SAASHQ_LACKS,
    SAASHQ_LIMITS,
    SAASHQ_WORKAROUNDS,
)


@dataclass(frozen=True)
class OssBuild:
    name: str  # as the conformance report names the product
    commit: str  # the build's commit, 12 hex digits
    status_path: str  # a route that answers without a sign-in once the product runs, with what it says of itself
    # The parts of the credit flow its health report checks, where it has one; () where it reports no parts
    health_parts: tuple[str, ...]
    lacks: dict[str, str]  # features this build does not have, each with why and where in its source
    limits: Limits
    workarounds: tuple[Workaround, ...]
    deployed_findings: tuple[DeployedFinding, ...]
    in_flight_at_most: int  # calls in flight its database pool takes before it deadlocks
    calls_uncounted: str  # why no count of API calls already used can be arranged: it keeps none a call is checked on


def no_call_count(cap_lines: str, middleware_lines: str) -> str:
    """Why a build holds no count of API calls already used: nothing it runs counts them or checks a call on one."""
    return (f"the product keeps no count of API calls that a call is checked against: its chat handler checks credits "
            f"and a monthly spending cap in credits (backend/litellm_api.py:{cap_lines}); UsageTrackingMiddleware, "
            f"which would count calls, is not among the middleware the server mounts (backend/server.py:"
            f"{middleware_lines}); and TierEnforcementMiddleware exempts every path, \"/\" being among its exempt "
            "prefixes (backend/tier_enforcement_middleware.py:35-36, 165-167)")


OPS_CENTER_OSS = OssBuild(
    name="Ops-Center-OSS af179f13cf24", commit="af179f13cf24",
    status_path="/api/v1/system/status",  # public by design (auth_middleware.py:44)
    health_parts=(),
    lacks=OSS_LACKS, limits=OSS_LIMITS, workarounds=OSS_WORKAROUNDS, deployed_findings=OSS_DEPLOYED_FINDINGS,
    in_flight_at_most=9,  # its asyncpg pool of 10 deadlocks with 10 calls in flight (server.py:881-889)
    calls_uncounted=no_call_count("942-947", "381-847"),
)
SAASHQ_OPS_CENTER = OssBuild(
    name="saashqdev/ops-center 283233d38107", commit="283233d38107",
    # Its system status asks for a sign-in (server.py:2266-2267); its health report does not (health_check_api.py:180)
    status_path="/api/v1/health",
    # Its report checks PostgreSQL and Redis, and beside them the host's Docker containers and its CPU, memory and
    # disk (health_check_api.py:193-208), which are the machine's, not parts of the credit flow.
    health_parts=("postgres", "redis"),
    lacks=SAASHQ_LACKS, limits=SAASHQ_LIMITS, workarounds=SAASHQ_WORKAROUNDS,
    deployed_findings=SAASHQ_DEPLOYED_FINDINGS,
    in_flight_at_most=9,  # its asyncpg pool of 10 (server.py:576-584), taken twice by a call as in Ops-Center-OSS
    calls_uncounted=no_call_count("938-943", "356-542"),
)
OPS_CENTER_OSS_V2_5_0 = OssBuild(
    name="Ops-Center-OSS v2.5.0 2d65da407a3d", commit="2d65da407a3d",
    status_path="/api/v1/system/status",  # public: an optional sign-in (server.py:2306-2307, :2254-2259)
    health_parts=(),  # no health report of its parts
    lacks=V2_5_0_LACKS, limits=V2_5_0_LIMITS, workarounds=V2_5_0_WORKAROUNDS,
    deployed_findings=V2_5_0_DEPLOYED_FINDINGS,
    in_flight_at_most=9,  # its asyncpg pool of 10 (server.py:799-807), taken twice by a call (litellm_api.py:994, 1045)
    calls_uncounted=no_call_count("933-938", "344-765"),
)
BUILDS = (OPS_CENTER_OSS, SAASHQ_OPS_CENTER, OPS_CENTER_OSS_V2_5_0)


def build_named(version: str) -> OssBuild:
    """The build a version names: its commit, or that commit with the sandbox's "-modified" for a changed copy."""
    for build in BUILDS:
        if version and version.startswith(build.commit):
            return build
    known = ", ".join(f"{build.commit} ({build.name})" for build in BUILDS)
    raise ConfigError(f"the ops-center-oss deployment knows no build {version or '(none named)'}: name one of {known} "
                      "in OPS_CENTER_BUILD, or declare the new one in creditflow/deployments/ops_center_oss/builds.py")


def build_of(config: Config) -> OssBuild:
    """The build the run speaks to: the one the sandbox booted, or the one a remote target names."""
    return build_named(config.ops_center_build or config.ops_center_version)
