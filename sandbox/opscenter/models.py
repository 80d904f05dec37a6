"""Request bodies of docs/contract.md: a bad body is a 422 that names its fields, never a 500."""

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
    model_validator,
)

from sandbox.opscenter.settings import BYOK_PROVIDERS, DEFAULT_TOKEN_BUDGET, PROVIDERS, RATES

Tier = Literal["trial", "professional", "platform"]


def without_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("must not contain the NUL character")
    return text


# Text that is stored: PostgreSQL's text cannot hold NUL, so it is refused here, never a 500 there.
Stored = Annotated[str, AfterValidator(without_nul)]
MAX_CREDITS = 1_000_000_000


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    """Every refusal: a reason code, a sentence for people, and the facts of the reason (docs/contract.md)."""

    model_config = ConfigDict(extra="allow")
    error: str
    detail: str


def refusals(*statuses: int) -> dict[int | str, dict]:
    """The OpenAPI answers of a router's refusals, all in the contract's error body."""
    return {status: {"model": ErrorBody, "description": "refused"} for status in statuses}


class OrgCreate(Body):
    name: Stored = Field(min_length=1, max_length=200)
    subscription_tier: Tier = "platform"


class NamesAnAccount(Body):
    """An account named by its id (the Keycloak subject), or by an e-mail that must name only one."""

    @model_validator(mode="after")
    def one_name(self):
        if (self.user_id is None) == (self.email_given() is None):
            raise ValueError("name the account by user_id or by e-mail, not both and not neither")
        return self

    def email_given(self) -> str | None:
        raise NotImplementedError


class Invite(NamesAnAccount):
    user_id: Stored | None = Field(default=None, min_length=1, max_length=255)
    email: Stored | None = Field(default=None, min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    role: Literal["member", "admin"] = "member"

    def email_given(self) -> str | None:
        return self.email


# Credits are sold in whole cents (10 credits) from Stripe's smallest charge in dollars, $0.50 (500 credits).
SMALLEST_PURCHASE, PURCHASE_STEP = 500, 10


class Purchase(Body):
    amount: StrictInt = Field(ge=SMALLEST_PURCHASE, le=MAX_CREDITS, multiple_of=PURCHASE_STEP)


class CardOnFile(Body):
    payment_method: Stored = Field(min_length=4, max_length=255, pattern=r"^pm_[A-Za-z0-9_]+$")


class Refund(Body):
    credits: StrictInt | None = Field(default=None, gt=0, le=MAX_CREDITS)


class Allocate(NamesAnAccount):
    user_id: Stored | None = Field(default=None, min_length=1, max_length=255)
    user_email: Stored | None = Field(default=None, min_length=3, max_length=254)
    credits: StrictInt = Field(ge=0, le=MAX_CREDITS)

    def email_given(self) -> str | None:
        return self.user_email


class Grant(NamesAnAccount):
    user_id: Stored | None = Field(default=None, min_length=1, max_length=255)
    user_email: Stored | None = Field(default=None, min_length=3, max_length=254)
    credits: StrictInt = Field(gt=0, le=MAX_CREDITS)

    def email_given(self) -> str | None:
        return self.user_email


class ByokKey(Body):
    provider: Literal[BYOK_PROVIDERS]
    api_key: Stored = Field(min_length=8, max_length=512, pattern=r"^\S+$")


class Message(BaseModel):
    role: Literal["system", "user", "assistant", "tool"]
    content: str = Field(max_length=100_000)
    name: str | None = Field(default=None, max_length=64)
    tool_call_id: str | None = Field(default=None, min_length=1, max_length=128)

    @model_validator(mode="after")
    def tool_answers_name_their_call(self):
        if self.role == "tool" and self.tool_call_id is None:
            raise ValueError("a tool message must name the tool call it answers (tool_call_id)")
        return self


def canonical_model(name: str) -> str:
    """The priced model behind a name, bare (`gpt-4`) or with its provider's prefix (`openai/gpt-4`)."""
    provider, _, model = name.rpartition("/")
    if model in RATES and provider in ("", PROVIDERS[model]):
        return model
    known = ", ".join(f"{model} ({PROVIDERS[model]}/{model})" for model in RATES)
    raise ValueError(f"unknown model {name!r}; the known models are {known}")


# Every name a model may be called by, bare or with its provider's prefix: documented as the schema's enum.
MODEL_NAMES = [*RATES, *(f"{PROVIDERS[model]}/{model}" for model in RATES)]


class ChatBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str = Field(max_length=200, json_schema_extra={"enum": MODEL_NAMES})
    messages: list[Message] = Field(min_length=1, max_length=256)
    max_tokens: StrictInt = Field(default=DEFAULT_TOKEN_BUDGET, gt=0, le=100_000)
    stream: StrictBool = False

    @field_validator("model")
    @classmethod
    def priced_model(cls, name: str) -> str:
        return canonical_model(name)
