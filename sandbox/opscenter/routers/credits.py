"""Credits: a user's balance, a platform admin's grant, and an organization's pool and allocations."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from sandbox.opscenter.models import Allocate, Grant, Purchase, refusals


def router(service, CallerDep) -> APIRouter:  # noqa: N803 (a type alias, as FastAPI reads it)
    api = APIRouter(responses=refusals(401, 403, 404, 409, 422), prefix="/api/v1")

    @api.get("/credits/balance")
    async def balance(caller: CallerDep):
        return await service.account(caller)

    @api.post("/admin/credits/grant")
    async def grant(body: Grant, caller: CallerDep):
        return await service.grant(caller, body.user_id, body.user_email, body.credits)

    @api.post("/credits/organization/{org_id}/purchase", status_code=201,
              responses={202: {"description": "paid for, the credits not yet arrived"}, **refusals(402, 502)})
    async def purchase(org_id: str, body: Purchase, caller: CallerDep):
        credited, answer = await service.purchase(caller, org_id, body.amount)
        return answer if credited else JSONResponse(answer, status_code=202)

    @api.post("/credits/organization/{org_id}/allocate")
    async def allocate(org_id: str, body: Allocate, caller: CallerDep):
        return await service.allocate(caller, org_id, body.user_id, body.user_email, body.credits)

    @api.get("/credits/organization/{org_id}")
    async def org_credits(org_id: str, caller: CallerDep):
        return await service.org_credits(caller, org_id)

    @api.get("/credits/organization/{org_id}/my-allocation")
    async def my_allocation(org_id: str, caller: CallerDep):
        return await service.my_allocation(caller, org_id)

    @api.get("/credits/organization/{org_id}/usage-attribution")
    async def usage_attribution(org_id: str, caller: CallerDep):
        return await service.usage_attribution(caller, org_id)

    return api
