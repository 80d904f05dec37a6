"""Organizations: create, delete, invite (docs/contract.md, "Endpoints")."""

from fastapi import APIRouter
from fastapi.responses import Response

from sandbox.opscenter.models import Invite, OrgCreate, refusals


def router(service, CallerDep) -> APIRouter:  # noqa: N803 (a type alias, as FastAPI reads it)
    api = APIRouter(responses=refusals(401, 403, 404, 409, 422), prefix="/api/v1/org")

    @api.post("", status_code=201)
    async def create_org(body: OrgCreate, caller: CallerDep):
        return await service.create_org(caller, body.name, body.subscription_tier)

    @api.delete("/{org_id}", status_code=204)
    async def delete_org(org_id: str, caller: CallerDep):
        await service.delete_org(caller, org_id)
        return Response(status_code=204)

    @api.post("/{org_id}/invite", status_code=201)
    async def invite(org_id: str, body: Invite, caller: CallerDep):
        return await service.invite(caller, org_id, body.user_id, body.email, body.role)

    return api
