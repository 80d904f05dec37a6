"""Organization administration: allocations, books and who may see them."""

from behave import then, when


@when("{admin} tries to allocate {credits:Amount} of {org}'s credits to {name}")
async def try_allocate(context, admin, credits, org, name):
    assert context.flow.org(org).admin == admin, f"{admin} is not the admin of {org} in this scenario"
    context.answer = await context.flow.allocate(org, name, credits)


@when("{admin} tries to buy {amount} credits for {org}")
async def try_buy(context, admin, amount, org):
    context.answer = await context.flow.buy(org, literal(amount))


def literal(text: str):
    """An amount as a client might send it: a number when it reads as one, else the text itself."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


@when("{name} asks for {org}'s credits")
async def ask_for_books(context, name, org):
    context.answer = await context.flow.org_view_as(name, org)


@then("the allocation is refused because it would exceed the pool")
def allocation_refused(context):
    answer = context.answer
    assert answer.status == 409, f"an allocation beyond the pool must be refused, got {answer.status}: {answer.body}"
    assert "pool" in answer.detail.lower(), f"the refusal should say the pool is exceeded: {answer.detail}"


@then("{name} is refused because only an organization admin may do that")
def refused_not_admin(context, name):
    answer = context.answer
    assert answer.status == 403, f"{name} is not an admin and must be refused (403), but got {answer.status}"


@then("{name} is told there is no such organization")
def no_such_org(context, name):
    answer = context.answer
    assert answer.status == 404, (f"{name} is an outsider: the organization must look absent (404), "
                                  f"but got {answer.status}")


@then("{org}'s usage report attributes {credits:Amount} credits and {calls:Amount} API call to {name}")
async def attribution(context, org, credits, calls, name):
    report = await context.flow.attribution(org)
    email = context.flow.persona(name).email
    assert email in report, f"{org}'s usage report should list {name}, but lists {sorted(report)}"
    row = report[email]
    assert row["credits_used"] == credits, f"{org} should attribute {credits} credits to {name}, not {row}"
    assert row["api_calls"] == calls, f"{org} should attribute {calls} API calls to {name}, not {row}"


@then("the purchase is refused as invalid, naming what is wrong")
def purchase_invalid(context):
    answer = context.answer
    assert answer.status == 422, f"an invalid purchase must be refused (422), never accepted or a 500: {answer.status}"
    assert answer.detail, "the refusal should say what is wrong"
