"""Forged sign-ins, made as an attacker makes them from a real token of the realm (RFC 8725; OWASP's JSON Web Token
cheat sheet): each keeps the real token's claims, or changes one, and signs it in a way the realm never would; and,
as their control, the real claims signed by a key the realm has just published, as its own key rotation signs them.

A forgery that changes a claim (the issuer, the client, when the token becomes valid) is signed with a key the realm
publishes for the scenario: a verifier that checks only the signature accepts it, so only the claim's own check turns
it away. That key is the suite's, added to the realm below the realm's own keys (Keycloak goes on signing with its
own) and removed when the scenario ends.
"""

import base64
import hashlib
import hmac
import json
import secrets
import time
from enum import StrEnum

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from jwt.algorithms import RSAAlgorithm

from creditflow.systems.identity import Identity

A_DAY_S = 24 * 3600


class Forgery(StrEnum):
    OTHER_KEY = "signed by a key that is not the realm's"
    UNSIGNED = "with no signature, claiming it needs none"
    PUBLIC_KEY_AS_SECRET = "signed with the realm's public key as a shared secret"
    UNKNOWN_KEY = "naming a signing key the realm does not have"
    OTHER_ISSUER = "claiming another realm issued it"
    OTHER_CLIENT = "issued to another application"
    NOT_YET_VALID = "valid only from tomorrow"
    CUT_SIGNATURE = "with its signature cut short"
    # Not a forgery: the real token's claims under a key the realm has just published, as the realm's own rotation
    # would sign it. A verifier that reads the realm's keys once, and never again for a key id it has not seen, turns
    # it away (RFC 7517: keys are looked up by their key id, and a key set changes).
    REALM_KEY_JUST_PUBLISHED = "signed by a key the realm has just published"


def encoded(part: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(part, separators=(",", ":")).encode()).rstrip(b"=").decode()


def decoded(part: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def fresh_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def rs256(header: dict, claims: dict, key: rsa.RSAPrivateKey) -> str:
    signing_input = f"{encoded(header | {'alg': 'RS256'})}.{encoded(claims)}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def hs256(header: dict, claims: dict, secret: bytes) -> str:
    signing_input = f"{encoded(header | {'alg': 'HS256'})}.{encoded(claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def stranger_token(kid: str) -> str:
    """A token nobody was issued: made-up claims under the key id of the realm's signing key, signed by a fresh key,
    so a verifier gets as far as its signature."""
    now = int(time.time())
    return rs256({"typ": "JWT", "kid": kid}, {"sub": "stranger", "iat": now, "exp": now + 300}, fresh_key())


class Forger:
    """Forges sign-ins from real tokens of `identity`'s realm; `close` takes back the key it added to the realm."""

    def __init__(self, identity: Identity):
        self.identity = identity
        self._realm_key: tuple[str, str, rsa.RSAPrivateKey] | None = None  # component, key id, private key

    async def _signing_key(self, kid: str) -> dict:
        """The realm's published key that signed a token with key id `kid`."""
        for key in await self.identity.published_keys():
            if key.get("kid") == kid:
                return key
        raise LookupError(f"the realm publishes no key {kid}")

    async def _published_by_the_realm(self) -> tuple[str, rsa.RSAPrivateKey]:
        if self._realm_key is None:
            key = fresh_key()
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption()).decode()
            component, kid = await self.identity.add_signing_key(pem)
            self._realm_key = component, kid, key
        _, kid, key = self._realm_key
        return kid, key

    async def close(self) -> None:
        if self._realm_key is not None:
            component, self._realm_key = self._realm_key[0], None
            await self.identity.remove_signing_key(component)

    async def forge(self, token: str, forgery: Forgery) -> str:
        header_part, claims_part, signature = token.split(".")
        header, claims = decoded(header_part), decoded(claims_part)
        match forgery:
            case Forgery.OTHER_KEY:
                return rs256(header, claims, fresh_key())
            case Forgery.UNSIGNED:
                return f"{encoded(header | {'alg': 'none'})}.{encoded(claims)}."
            case Forgery.PUBLIC_KEY_AS_SECRET:
                public = RSAAlgorithm.from_jwk(json.dumps(await self._signing_key(header["kid"])))
                pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
                return hs256(header, claims, pem)
            case Forgery.UNKNOWN_KEY:
                return rs256(header | {"kid": secrets.token_urlsafe(32)}, claims, fresh_key())
            case Forgery.CUT_SIGNATURE:
                return f"{header_part}.{claims_part}.{signature[:len(signature) // 2]}"
            case Forgery.REALM_KEY_JUST_PUBLISHED:
                kid, key = await self._published_by_the_realm()
                return rs256(header | {"kid": kid}, claims, key)
        changed = {Forgery.OTHER_ISSUER: {"iss": claims["iss"] + "-other"},
                   Forgery.OTHER_CLIENT: {"azp": "another-application", "aud": "another-application"},
                   Forgery.NOT_YET_VALID: {"nbf": int(time.time()) + A_DAY_S}}[forgery]
        kid, key = await self._published_by_the_realm()
        return rs256(header | {"kid": kid}, claims | changed, key)
