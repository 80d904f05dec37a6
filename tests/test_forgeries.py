"""The forgeries of a sign-in, checked without a realm: each is refused by a verifier that checks what the reference
checks, and each claim forgery carries a signature a verifier that skipped the claim's check would accept."""

import asyncio
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from jwt.algorithms import RSAAlgorithm

from creditflow.systems.forgeries import Forger, Forgery, fresh_key, rs256

ISSUER = "http://keycloak.test/realms/uchub"
CLAIM_FORGERIES = {Forgery.OTHER_ISSUER, Forgery.OTHER_CLIENT, Forgery.NOT_YET_VALID}


class Realm:
    """The part of Identity a Forger uses: the realm's published keys, and keys added to and removed from them."""

    def __init__(self):
        self.private = {"realm-key": fresh_key()}
        self.removed: list[str] = []

    async def published_keys(self) -> list[dict]:
        return [json.loads(RSAAlgorithm.to_jwk(key.public_key())) | {"kid": kid, "use": "sig", "alg": "RS256"}
                for kid, key in self.private.items()]

    async def add_signing_key(self, private_pem: str) -> tuple[str, str]:
        kid = f"added-{len(self.private)}"
        self.private[kid] = serialization.load_pem_private_key(private_pem.encode(), None)
        return f"component-{kid}", kid

    async def remove_signing_key(self, component: str) -> None:
        self.removed.append(component)
        self.private.pop(component.removeprefix("component-"))

    def verify(self, token: str, check_claims: bool = True) -> dict:
        """As the reference verifies (sandbox/opscenter/auth.py), or, `check_claims` False, the signature alone."""
        kid = jwt.get_unverified_header(token).get("kid", "")
        if kid not in self.private:
            raise jwt.InvalidKeyError("unknown key")
        options = {"verify_aud": False} | ({} if check_claims else {"verify_nbf": False, "verify_exp": False})
        claims = jwt.decode(token, key=self.private[kid].public_key(), algorithms=["RS256"], options=options)
        if check_claims and (not claims["iss"].endswith("/realms/uchub") or claims["azp"] != "ops-center"):
            raise jwt.InvalidTokenError("another realm or client")
        return claims


def real_token(realm: Realm) -> str:
    """A token as the realm issues it to Ops-Center's client."""
    now = int(time.time())
    claims = {"iss": ISSUER, "azp": "ops-center", "aud": "account", "sub": "ivy", "iat": now, "exp": now + 300}
    return rs256({"typ": "JWT", "kid": "realm-key"}, claims, realm.private["realm-key"])


@pytest.fixture
def realm():
    return Realm()


def test_a_real_token_passes_the_verifier(realm):
    assert realm.verify(real_token(realm))["sub"] == "ivy"


@pytest.mark.parametrize("forgery", [forgery for forgery in Forgery if forgery is not Forgery.REALM_KEY_JUST_PUBLISHED],
                         ids=lambda forgery: forgery.name)
def test_each_forgery_is_refused_and_a_claim_forgery_only_for_its_claim(realm, forgery):
    forger, token = Forger(realm), real_token(realm)
    forged = asyncio.run(forger.forge(token, forgery))
    assert forged != token
    with pytest.raises(jwt.PyJWTError):
        realm.verify(forged)
    if forgery in CLAIM_FORGERIES:
        assert realm.verify(forged, check_claims=False)["sub"] == "ivy"
    asyncio.run(forger.close())
    assert len(realm.removed) == (forgery in CLAIM_FORGERIES)


def test_the_real_claims_under_a_key_the_realm_has_just_published_are_accepted_and_the_key_taken_back(realm):
    forger, token = Forger(realm), real_token(realm)
    resigned = asyncio.run(forger.forge(token, Forgery.REALM_KEY_JUST_PUBLISHED))
    assert jwt.get_unverified_header(resigned)["kid"] != "realm-key"
    assert realm.verify(resigned) == realm.verify(token)
    asyncio.run(forger.close())
    assert len(realm.removed) == 1
