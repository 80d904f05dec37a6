"""What runs killed half-way left behind: their users and organizations, found by the marks every account
the suite creates carries (the run that made it, the host and the process), and removed by the next run.

A run is dead when its process is gone from this host, or, for a run on another host, when its accounts
are older than OTHER_HOST_AGE_S (its process cannot be asked)."""

import os
import socket
import time
from dataclasses import dataclass, field

from creditflow.deployments.base import Account, OrgRef
from creditflow.deployments.deployment import Deployment
from creditflow.systems.identity import HOST_MARK, PID_MARK, RUN_MARK, MarkedAccount, MarkedKey

OTHER_HOST_AGE_S = 12 * 3600


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def left_by_a_dead_run(left: MarkedAccount | MarkedKey, now: float | None = None) -> bool:
    host, pid = left.marks.get(HOST_MARK), left.marks.get(PID_MARK, "")
    if host == socket.gethostname() and pid.isdigit():
        return not process_alive(int(pid))
    return (now or time.time()) - left.created_s > OTHER_HOST_AGE_S


@dataclass
class Leftovers:
    runs: set[str] = field(default_factory=set)
    users: int = 0
    organizations: int = 0
    signing_keys: int = 0  # added to the realm to sign forgeries
    failures: list[str] = field(default_factory=list)

    def describe(self) -> str:
        if not self.runs:
            return "no leftovers of dead runs"
        what = (f"{self.users} users, {self.organizations} organizations and {self.signing_keys} signing keys"
                if self.signing_keys else f"{self.users} users and {self.organizations} organizations")
        removed = f"removed {what} left by {len(self.runs)} dead runs ({', '.join(sorted(self.runs))})"
        return removed + "".join(f"; could not {failure}" for failure in self.failures)


async def remove_leftovers(deployment: Deployment) -> Leftovers:
    """Signs in as each account a dead run left (after giving it a new password), deletes the organizations it
    created through Ops-Center, then removes the account."""
    identity, found = deployment.identity, Leftovers()
    if identity is None:  # the deployment keeps no accounts in Keycloak: none of a dead run's is there
        return found
    for left in await identity.accounts_of_other_runs():
        if not left_by_a_dead_run(left):
            continue
        found.runs.add(left.marks[RUN_MARK])
        username, user_id = left.username, left.user_id
        try:
            account = Account(user_id, username, left.email, await identity.take_over(user_id), "")
            org_ids = await deployment.ledger.orgs_created_by(user_id)
            if org_ids:
                session = await deployment.accounts.sign_in(account, "leftover")
                for org_id in org_ids:
                    reply = await deployment.orgs.remove(session, OrgRef(org_id, ""))
                    if reply.ok:
                        found.organizations += 1
                    else:
                        found.failures.append(f"delete organization {org_id}: {reply.describe()}")
            await deployment.accounts.remove(account)
            found.users += 1
        except Exception as error:  # one leftover that resists must not keep the others
            found.failures.append(f"remove {username}: {type(error).__name__}: {error}"[:200])
    for key in await identity.signing_keys_of_other_runs():
        if left_by_a_dead_run(key):
            found.runs.add(key.marks[RUN_MARK])
            await identity.remove_signing_key(key.component)
            found.signing_keys += 1
    return found
