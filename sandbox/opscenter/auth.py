"""Bearer-token verification against the realm's JWKS, cached and refreshed on an unknown key id."""

import asyncio
from dataclasses import dataclass

import httpx
import jwt


class AuthError(Exception):
    """The caller presented no token, or one the realm did not sign."""


@dataclass(frozen=True)
class Caller:
    user_id: str
    email: str
    tier: str
    is_platform_admin: bool


class TokenVerifier:
    def __init__(self, http: httpx.AsyncClient, keycloak_url: str, realm: str, client_id: str):
        self._http = http
        self._certs_url = f"{keycloak_url}/realms/{realm}/protocol/openid-connect/certs"
        self._issuer_suffix = f"/realms/{realm}"
        self._client_id = client_id
        self._keys: dict[str, jwt.PyJWK] = {}
        self._lock = asyncio.Lock()

    async def refresh(self) -> None:
        async with self._lock:
            answer = await self._http.get(self._certs_url, timeout=5)
            answer.raise_for_status()
            keyset = jwt.PyJWKSet.from_dict(answer.json())
            self._keys = {key.key_id: key for key in keyset.keys if key.public_key_use in (None, "sig")}

    async def _key_for(self, kid: str) -> jwt.PyJWK:
        if kid not in self._keys:
            await self.refresh()
        if kid not in self._keys:
            raise AuthError("the token was not signed by this realm")
        return self._keys[kid]

    async def verify(self, authorization: str | None) -> Caller:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise AuthError("a bearer token is required")
        token = authorization[7:].strip()
        try:
            header = jwt.get_unverified_header(token)
            key = await self._key_for(header.get("kid", ""))
            claims = jwt.decode(token, key=key, algorithms=["RS256"], options={"verify_aud": False})
        except jwt.PyJWTError as error:
            raise AuthError(f"the token is invalid: {error}") from None
        # The issuer's host depends on how the caller reached Keycloak; the realm must match.
        if not str(claims.get("iss", "")).endswith(self._issuer_suffix):
            raise AuthError("the token was issued by another realm")
        if claims.get("azp") != self._client_id:
            raise AuthError("the token was issued to another client")
        roles = claims.get("realm_access", {}).get("roles", [])
        return Caller(
            user_id=claims["sub"],
            email=str(claims.get("email", "")).lower(),
            tier=str(claims.get("subscription_tier", "trial")),
            is_platform_admin="admin" in roles,
        )
