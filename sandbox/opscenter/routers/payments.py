"""Money in besides an organization's purchase (routers/credits.py): a user's own purchase, the card on file, a
platform admin's refund, and the payment provider's signed events (docs/contract.md, "Money in")."""

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from sandbox.opscenter.models import CardOnFile, Purchase, Refund, refusals


def router(service, CallerDep) -> APIRouter:  # noqa: N803 (a type alias, as FastAPI reads it)
    api = APIRouter(responses=refusals(401, 402, 403, 404, 409, 422, 502), prefix="/api/v1")

    @api.post("/credits/purchase", status_code=201,
              responses={202: {"description": "paid for, the credits not yet arrived"}})
    async def own_purchase(body: Purchase, caller: CallerDep):
        credited, answer = await service.own_purchase(caller, body.amount)
        return answer if credited else JSONResponse(answer, status_code=202)

    @api.put("/credits/payment-method")
    async def own_card(body: CardOnFile, caller: CallerDep):
        return await service.card_on_file(caller, None, body.payment_method)

    @api.put("/credits/organization/{org_id}/payment-method")
    async def org_card(org_id: str, body: CardOnFile, caller: CallerDep):
        return await service.card_on_file(caller, org_id, body.payment_method)

    @api.post("/admin/payments/{payment_id}/refund")
    async def refund(payment_id: str, body: Refund, caller: CallerDep):
        return await service.refund(caller, payment_id, body.credits)

    @api.post("/payments/stripe/webhook", responses=refusals(400))
    async def webhook(request: Request, stripe_signature: Annotated[str | None, Header()] = None):
        # Signed by the payment provider, not by a user: no sign-in, the signature is the credential.
        return await service.payment_event(await request.body(), stripe_signature)

    return api
