"""A user's own provider keys: stored encrypted, shown only as a hint."""

from fastapi import APIRouter

from sandbox.opscenter.models import ByokKey, refusals


def router(service, CallerDep) -> APIRouter:  # noqa: N803 (a type alias, as FastAPI reads it)
    api = APIRouter(responses=refusals(401, 422), prefix="/api/v1/settings/byok-keys")

    @api.post("", status_code=201)
    async def store_key(body: ByokKey, caller: CallerDep):
        return await service.store_key(caller, body.provider, body.api_key)

    @api.get("")
    async def list_keys(caller: CallerDep):
        return await service.key_settings(caller)

    return api
