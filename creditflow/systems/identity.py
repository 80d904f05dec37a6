"""Keycloak: run-unique test users provisioned through the admin API, and their sign-ins."""

import asyncio
import base64
import html
import json
import os
import re
import secrets
import socket
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
from argon2.low_level import Type, hash_secret_raw
from keycloak import KeycloakAdmin, KeycloakOpenID, KeycloakOpenIDConnection
from keycloak.exceptions import KeycloakError
from keycloak.urls_patterns import URL_TOKEN

from creditflow.config import Config
from creditflow.verdicts import TargetLacksPart

EMAIL_DOMAIN = "@creditflow.test"  # of every account the suite creates
RUN_MARK = "creditflow_run"  # the attribute naming the run that created an account
HOST_MARK, PID_MARK = "creditflow_host", "creditflow_pid"  # the host and the process of that run


def run_marks(run_id: str) -> dict[str, str]:
    """The marks every account and key a run creates carries, so a later run finds what a dead one left."""
    return {RUN_MARK: run_id, HOST_MARK: socket.gethostname(), PID_MARK: str(os.getpid())}


# The name of each signing key the suite adds to the realm, followed by the marks of the run that added it.
SIGNING_KEY_NAME = "creditflow-forgery"
# Where the browser sign-in of an expired token is sent back to: never visited, the token rides in its fragment.
IMPLICIT_REDIRECT = "http://127.0.0.1/creditflow/expired-sign-in"
# How Keycloak 26 hashes a password in a realm without a password policy: Argon2id, the parameters it writes into
# the credentials it makes itself. A credential made with exactly these is verified at sign-in as it is, not
# hashed again.
KEYCLOAK_DEFAULT_ARGON2 = {"hashIterations": 5, "algorithm": "argon2", "additionalParameters": {
    "hashLength": ["32"], "memory": ["7168"], "type": ["id"], "version": ["1.3"], "parallelism": ["1"]}}


class IdentityError(Exception):
    """Keycloak refused a sign-in or a provisioning call."""


def password_grant(url: str, realm: str, client_id: str, client_secret: str, username: str,
                   password: str) -> tuple[str, dict[str, str]]:
    """The token endpoint and form of a sign-in, for an engine that sends its own requests (the load)."""
    endpoint = url.rstrip("/") + "/" + URL_TOKEN.format(**{"realm-name": realm})
    return endpoint, {"grant_type": "password", "client_id": client_id, "client_secret": client_secret,
                      "username": username, "password": password, "scope": "openid"}


def access_token(tokens: dict) -> str:
    return tokens["access_token"]


def hashed_password_credential(password: str) -> dict:
    """The password as Keycloak stores it by default, hashed here: Keycloak's own hashing of each new account's
    password (Argon2, tens of milliseconds of its CPU) was a third of what the suite's accounts cost it."""
    parameters = KEYCLOAK_DEFAULT_ARGON2["additionalParameters"]
    salt = secrets.token_bytes(16)
    digest = hash_secret_raw(password.encode(), salt, time_cost=KEYCLOAK_DEFAULT_ARGON2["hashIterations"],
                             memory_cost=int(parameters["memory"][0]), parallelism=int(parameters["parallelism"][0]),
                             hash_len=int(parameters["hashLength"][0]), type=Type.ID)
    return {"type": "password", "temporary": False, "credentialData": json.dumps(KEYCLOAK_DEFAULT_ARGON2),
            "secretData": json.dumps({"value": base64.b64encode(digest).decode(),
                                      "salt": base64.b64encode(salt).decode(), "additionalParameters": {}})}


@dataclass(frozen=True)
class Account:
    """A run-unique user in Keycloak, and how the deployment knows them."""

    user_id: str
    username: str
    email: str
    password: str
    plan: str



@dataclass(frozen=True)
class MarkedAccount:
    """An account of the suite's, with the marks of the run that made it."""

    user_id: str
    username: str
    email: str
    marks: dict[str, str]
    created_s: float  # Unix seconds


@dataclass(frozen=True)
class MarkedKey:
    """A signing key the suite added to the realm, with the marks of the run that added it."""

    component: str
    marks: dict[str, str]
    created_s: float  # Unix seconds


def signing_key_name(marks: dict[str, str], created_s: float) -> str:
    return f"{SIGNING_KEY_NAME} {urlencode(marks | {'created': str(int(created_s))})}"


def marked_key(component: str, name: str) -> MarkedKey | None:
    """The key a component's name marks as the suite's, or None for any other component."""
    prefix, _, query = name.partition(" ")
    if prefix != SIGNING_KEY_NAME:
        return None
    marks = dict(parse_qsl(query))
    created = marks.pop("created", "0")
    return MarkedKey(component, marks, int(created) if created.isdigit() else 0)


class Identity:
    @classmethod
    def configured(cls, config: Config, run_marks: dict[str, str] | None = None) -> "Identity":
        """The realm and client a run's configuration names."""
        return cls(config.keycloak_url, config.keycloak_realm, config.keycloak_client_id, config.keycloak_client_secret,
                   config.keycloak_admin_user, config.keycloak_admin_password, run_marks)

    def __init__(self, url: str, realm: str, client_id: str, client_secret: str, admin_user: str,
                 admin_password: str, run_marks: dict[str, str] | None = None):
        server = url.rstrip("/") + "/"  # python-keycloak joins paths onto it
        self._server, self._realm = server, realm
        self._client_id, self._admin_user, self._admin_password = client_id, admin_user, admin_password
        self._client_secret = client_secret
        # Attributes that tie each account created to the run that made it (none where this process creates none).
        self.run_marks: dict[str, str] = run_marks or {}
        self._openid = KeycloakOpenID(server_url=server, realm_name=realm, client_id=client_id,
                                      client_secret_key=client_secret)
        self._admin = KeycloakAdmin(connection=KeycloakOpenIDConnection(
            server_url=server, username=admin_user, password=admin_password, realm_name=realm,
            user_realm_name="master", client_id="admin-cli", verify=True,
        ))
        # One throwaway password for the accounts this process creates, hashed once: see _learn_how_passwords_are_kept.
        self._password = f"Cf-{secrets.token_urlsafe(15)}"
        self._credential: dict = {"type": "password", "value": self._password, "temporary": False}
        self._learned = False

    async def _learn_how_passwords_are_kept(self, user_id: str) -> None:
        """Reads how Keycloak stored the password of the first account: when that is Keycloak's default (Argon2id,
        KEYCLOAK_DEFAULT_ARGON2), later accounts get the password hashed here the same way, and Keycloak, which
        verifies it as it is, does not hash it again; any other realm policy or version keeps hashing it itself."""
        self._learned = True
        stored = await self._admin.a_get_credentials(user_id)
        if [json.loads(credential.get("credentialData") or "{}") for credential in stored] == [KEYCLOAK_DEFAULT_ARGON2]:
            self._credential = hashed_password_credential(self._password)

    async def create_account(self, username: str, email: str, plan: str, platform_admin: bool = False) -> Account:
        try:
            user_id = await self._admin.a_create_user({
                "username": username, "email": email, "firstName": username.split("-")[0].title(),
                "lastName": "Creditflow", "enabled": True, "emailVerified": True,
                "attributes": {"subscription_tier": [plan], **{k: [v] for k, v in self.run_marks.items()}},
                "credentials": [self._credential],
            })
            if not self._learned:
                await self._learn_how_passwords_are_kept(user_id)
            if platform_admin:
                role = await self._admin.a_get_realm_role("admin")
                await self._admin.a_assign_realm_roles(user_id, [role])
        except KeycloakError as error:
            raise IdentityError(f"Keycloak refused to create {username}: {error.response_code}") from None
        return Account(user_id, username, email, self._password, plan)

    async def delete_account(self, user_id: str) -> None:
        try:
            await self._admin.a_delete_user(user_id)
        except KeycloakError as error:
            if error.response_code != 404:
                raise

    async def sign_in(self, username: str, password: str) -> tuple[str, float]:
        """Returns an access token and how long Keycloak took to issue it, in milliseconds."""
        started = time.perf_counter()
        try:
            tokens = await self._openid.a_token(username, password)
        except KeycloakError as error:
            raise IdentityError(f"Keycloak refused the sign-in of {username}: {error.response_code}") from None
        return access_token(tokens), (time.perf_counter() - started) * 1000

    def token_request(self, username: str, password: str) -> tuple[str, dict[str, str]]:
        """Where a sign-in with a password is sent, and its form, for a client that sends it itself (to say where it
        comes from, or to read a refusal as the client sees it)."""
        return password_grant(self._server, self._realm, self._client_id, self._client_secret, username, password)

    async def decode(self, token: str) -> dict:
        """The claims of a token, verified against the realm's published keys."""
        return await self._openid.a_decode_token(token, validate=True)

    async def accounts_of_other_runs(self) -> list[MarkedAccount]:
        """Every account a run of the suite created (its e-mail domain), but not this run."""
        mine = self.run_marks.get(RUN_MARK)
        found, first = [], 0
        while page := await self._admin.a_get_users({"email": EMAIL_DOMAIN.lstrip("@"), "first": first, "max": 200,
                                                     "briefRepresentation": False}):
            for user in page:
                marks = {key: (value or [""])[0] for key, value in user.get("attributes", {}).items()}
                if str(user.get("email", "")).endswith(EMAIL_DOMAIN) and marks.get(RUN_MARK) not in (None, "", mine):
                    found.append(MarkedAccount(user["id"], user["username"], user.get("email", ""), marks,
                                               int(user.get("createdTimestamp") or 0) / 1000))
            first += len(page)
        return found

    async def take_over(self, user_id: str) -> str:
        """A new password for an account whose own is lost with the run that made it."""
        password = f"Cf-{secrets.token_urlsafe(15)}"
        await self._admin.a_set_user_password(user_id, password, temporary=False)
        return password

    async def published_keys(self) -> list[dict]:
        """The realm's keys as it publishes them (its JWKS): what a verifier of its tokens trusts."""
        return (await self._openid.a_certs())["keys"]

    async def add_signing_key(self, private_pem: str) -> tuple[str, str]:
        """The realm publishes a signing key of the caller's (an RSA key in PEM) beside its own, below them in
        priority, so Keycloak goes on signing its tokens with its own key; the key is named with the run's marks, so
        a later run removes it if this one dies first. Returns the key's component and key id."""
        realm = await self._admin.a_get_realm(self._realm)
        component = await self._admin.a_create_component({
            "name": signing_key_name(self.run_marks, time.time()), "providerId": "rsa",
            "providerType": "org.keycloak.keys.KeyProvider",
            "parentId": realm["id"], "config": {"priority": ["-100"], "enabled": ["true"], "active": ["true"],
                                                "algorithm": ["RS256"], "privateKey": [private_pem]}})
        keys = await self._admin.a_get_keys()
        return component, next(key["kid"] for key in keys["keys"] if key.get("providerId") == component)

    async def signing_keys_of_other_runs(self) -> list[MarkedKey]:
        """Every signing key a run of the suite added to the realm, but not this run."""
        realm = await self._admin.a_get_realm(self._realm)
        components = await self._admin.a_get_components({"parent": realm["id"],
                                                         "type": "org.keycloak.keys.KeyProvider"})
        keys = [marked_key(component["id"], component.get("name", "")) for component in components]
        return [key for key in keys if key is not None
                and key.marks.get(RUN_MARK) not in (None, "", self.run_marks.get(RUN_MARK))]

    async def remove_signing_key(self, component: str) -> None:
        try:
            await self._admin.a_delete_component(component)
        except KeycloakError as error:
            if error.response_code != 404:
                raise

    async def other_realm_token(self) -> str:
        """A valid token of the master realm: signed by Keycloak, but for another realm than Ops-Center's."""
        # A client of its own, made here: one scenario asks for it, and each client costs its process an SSL context.
        master = KeycloakOpenID(server_url=self._server, realm_name="master", client_id="admin-cli")
        try:
            tokens = await master.a_token(self._admin_user, self._admin_password)
        finally:
            await master.connection.aclose()
        return tokens["access_token"]

    async def expired_token(self, username: str, password: str) -> str:
        """A token of the user that has expired: the user signs in through the browser (implicit) flow, whose
        tokens the realm makes short-lived (`accessTokenLifespanForImplicitFlow`), and the token is waited out.
        Nothing in the realm changes for it, so a run signing in at the same moment gets its usual tokens."""
        async with httpx.AsyncClient(base_url=self._server, timeout=10) as browser:
            login = await browser.get(f"realms/{self._realm}/protocol/openid-connect/auth", params={
                "client_id": self._client_id, "response_type": "token", "redirect_uri": IMPLICIT_REDIRECT,
                "scope": "openid", "state": secrets.token_hex(8), "nonce": secrets.token_hex(8)})
            form = re.search(r'<form[^>]*action="([^"]+)"', login.text)
            if login.status_code != 200 or form is None:
                raise TargetLacksPart(f"an expired sign-in needs the {self._client_id} client to allow the implicit "
                                      f"flow to {IMPLICIT_REDIRECT} (Keycloak answered {login.status_code}); see "
                                      "sandbox/realm/uchub-realm.json")
            # Keycloak marks its login cookies Secure even on plain HTTP, so a client would not send them back.
            cookies = "; ".join(f"{name}={value}" for name, value in login.cookies.items())
            signed_in = await browser.post(html.unescape(form.group(1)), headers={"Cookie": cookies},
                                           data={"username": username, "password": password, "credentialId": ""})
        token = dict(parse_qsl(urlsplit(signed_in.headers.get("location", "")).fragment)).get("access_token")
        if token is None:
            raise IdentityError(f"Keycloak refused the browser sign-in of {username}: {signed_in.status_code}")
        claims = await self._openid.a_decode_token(token, validate=False)
        await asyncio.sleep(max(claims["exp"] - time.time(), 0) + 1.1)
        return token
