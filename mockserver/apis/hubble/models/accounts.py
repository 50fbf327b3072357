"""Hubble's accounts: organizations, API keys, users, invitations, webhook registrations
and the per-hour API request counts (`AccountsMixin`, mixed into `HubbleBackend`).

Tables:
    hubble.orgs         org_id -> {org_id, name, address?, contact_info?, timezone?, created_at}
    hubble.keys         key_id -> {key_id, org_id, key_name, created_at, expires_at_seconds,
                                   scopes, token_sha256}
    hubble.users        user_id -> {user_id, org_id, email, email_confirmed, first_name,
                                    last_name, created_at, last_active_at, role}
    hubble.invitations  "<org_id>|<email>" -> {org_id, invitee_email, inviter_email?, role,
                                              created_at, expires_at}
    hubble.webhooks     webhook_id -> {webhook_id, org_id, name, url, max_batch_size, secret}
    hubble.invoices     invoice_id -> {invoice_id, org_id, issue_timestamp, due_timestamp, status,
                                       total, remaining_balance, lines}
    hubble.api_counts   "<org_id>|<hour start>" -> {org_id, hour, total, ok}
    (devices and packets: see devices / packets)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ....kernel.errors import BadRequest, NotFound, Unauthorized
from ....kernel.lazy import on_first_use
from ....kernel.memo import BoundedDict
from .common import apply_set_fields, iso, not_found
from .state import HubbleState

jwt: Any = on_first_use(globals(), "jwt", "jwt")  # PyJWT imports `cryptography` (~0.1 s)

SCOPES: dict[str, str] = {
    "read-api-keys": "Read API keys",
    "write-api-keys": "Create, update and delete API keys",
    "read-users": "Read users",
    "write-users": "Add, update and remove users",
    "read-organization-metadata": "Read organization details",
    "write-organization-metadata": "Update organization details",
    "read-devices": "Read devices",
    "write-devices": "Register and manage devices",
    "read-invitations": "Read pending invitations",
    "write-invitations": "Send and revoke invitations",
    "read-packets": "Read packets",
    "read-platform-metrics": "Read platform metrics",
    "read-billing-usage": "Read billing usage",
    "read-billing-invoices": "Read billing invoices",
    "read-webhooks": "Read webhooks",
    "write-webhooks": "Create and manage webhooks",
}
ALL_SCOPES = list(SCOPES)
INVITATION_TTL = 7 * 86400
JWT_ISSUER = "mockserver/hubble"
DEFAULT_ORG_NAME = "Sandbox Organization"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's organization and scopes."""

    org_id: str
    scopes: frozenset[str]
    key_id: str


def _sha(token: str) -> str:
    """sha256 of a bearer token (hex): remembered for the few tokens a sandbox sees, since
    every authenticated request needs it (bounded; a pure function of the token)."""
    digest = _SHAS.get(token)
    if digest is None:
        digest = hashlib.sha256(token.encode()).hexdigest()
        if len(token) <= 4096:
            _SHAS.put(token, digest)
    return digest


_SHAS: BoundedDict[str, str] = BoundedDict(1024)


def _principal(key_id: str, key: dict[str, Any]) -> Principal:
    """The key's Principal, one per key record: records are replaced on change, never
    edited in place, and the entry holds the record, so its identity stands for its content
    (bounded, like `_SHAS`)."""
    hit = _PRINCIPALS.get(key_id)
    if hit is not None and hit[0] is key:
        return hit[1]
    principal = Principal(key["org_id"], frozenset(key["scopes"]), key_id)
    _PRINCIPALS.put(key_id, (key, principal))
    return principal


_PRINCIPALS: BoundedDict[str, tuple[dict[str, Any], Principal]] = BoundedDict(1024)


class AccountsMixin(HubbleState):
    """Organizations, API keys, users, invitations, webhook registrations, request counts."""

    _by_token: dict[str, str]  # sha256(token) -> key_id, rebuilt by the backend's reload()

    # -- organizations ----------------------------------------------------------------------
    def create_org(self, org_id: str, name: str = DEFAULT_ORG_NAME, **fields: Any) -> dict[str, Any]:
        record = {"org_id": org_id, "name": name, "created_at": int(self.now())}
        for key in ("address", "contact_info", "timezone"):
            if fields.get(key) is not None:
                record[key] = fields[key]
        return self.orgs.put(org_id, record)

    def org(self, org_id: str) -> dict[str, Any]:
        record = self.orgs.get(org_id)
        if record is None:
            raise NotFound(f"no organization {org_id!r}")
        return record

    @staticmethod
    def org_view(record: dict[str, Any]) -> dict[str, Any]:
        out = {"name": record["name"], "org_id": record["org_id"]}
        for key in ("contact_info", "address", "timezone"):
            if record.get(key) is not None:
                out[key] = record[key]
        return out

    def update_org(self, org_id: str, body: dict[str, Any]) -> dict[str, Any]:
        record = dict(self.org(org_id))
        changes = {
            "set_name": "name",
            "set_address": "address",
            "set_contact_info": "contact_info",
            "set_timezone": "timezone",
        }
        if "set_timezone" in body:
            _check_timezone(body["set_timezone"])
        return self.orgs.put(org_id, apply_set_fields(record, body, changes))

    # -- API keys -------------------------------------------------------------------------
    def principal_for(self, token: str) -> Principal:
        key_id = self._by_token.get(_sha(token))
        if key_id is None:
            raise Unauthorized(self._why_unknown(token))
        key = self.keys.get(key_id)
        if key is None:  # index out of date: treat as deleted
            raise Unauthorized("this API key has been deleted")
        expires = key.get("expires_at_seconds") or 0
        if expires and expires <= self.now():
            raise Unauthorized(f"this API key expired at {iso(expires)}")
        self._count_request(key["org_id"])
        return _principal(key_id, key)

    def _why_unknown(self, token: str) -> str:
        if token.count(".") != 2:
            return "the bearer token is not an API key of this service"
        try:
            claims = jwt.decode(token, self._jwt_secret(), algorithms=["HS256"], options={"verify_exp": False})
        except jwt.InvalidSignatureError:
            return "the API key's signature does not verify (it was altered or issued elsewhere)"
        except jwt.PyJWTError:
            return "the bearer token is a malformed JWT"
        return f"the API key {claims.get('sub')!r} has been deleted (revoked)"

    def _jwt_secret(self) -> bytes:
        return hashlib.sha256(self.runtime.secret + b"hubble-jwt").digest()

    def _new_key(
        self,
        org_id: str,
        name: str,
        scopes: list[str] | None,
        expires_at: int,
        token: str | None = None,
        bootstrap: bool = False,
    ) -> tuple[dict[str, Any], str]:
        key_id = self.ids.uuid("api_key")
        created = int(self.now())
        if token is None:
            claims = {"iss": JWT_ISSUER, "sub": key_id, "org_id": org_id, "iat": created, "jti": self.ids.hex("jti", 16)}
            token = jwt.encode(claims, self._jwt_secret(), algorithm="HS256")
        record: dict[str, Any] = {
            "key_id": key_id,
            "org_id": org_id,
            "key_name": name,
            "created_at": created,
            "expires_at_seconds": int(expires_at or 0),
            "scopes": list(scopes) if scopes else list(ALL_SCOPES),
            "token_sha256": _sha(token),
        }
        if bootstrap:
            record["bootstrap"] = True
        self.keys.put(key_id, record)
        self._by_token[record["token_sha256"]] = key_id
        return record, token

    @staticmethod
    def key_view(record: dict[str, Any]) -> dict[str, Any]:
        return {k: record[k] for k in ("key_id", "key_name", "created_at", "expires_at_seconds", "scopes")}

    def _check_expiry(self, expires: int | None) -> None:
        if expires and expires <= self.now():
            raise BadRequest(f"expires_at_seconds {expires} is not in the future (use 0 for a key that never expires)")

    def provision_key(self, org_id: str, body: dict[str, Any]) -> dict[str, Any]:
        self.org(org_id)
        self._check_expiry(body.get("expires_at_seconds"))
        record, token = self._new_key(
            org_id, body.get("name", ""), body.get("scopes"), body.get("expires_at_seconds") or 0
        )
        return {**self.key_view(record), "key": token}

    def list_keys(self, org_id: str) -> list[dict[str, Any]]:
        now = self.now()
        out = []
        for record in self.keys.values():
            if record["org_id"] != org_id:
                continue
            expires = record.get("expires_at_seconds") or 0
            if expires and expires <= now:
                continue
            out.append(self.key_view(record))
        out.sort(key=lambda k: (k["created_at"], k["key_id"]))
        return out

    def _key(self, org_id: str, key_id: str, changing: bool = False) -> dict[str, Any]:
        record = self.keys.get(key_id)
        if record is None or record["org_id"] != org_id:
            raise not_found("API key", key_id)
        if changing and record.get("bootstrap"):
            raise BadRequest(
                "the sandbox bootstrap key (MOCKSERVER_HUBBLE_TOKEN) cannot be changed or deleted; "
                "provision a key of your own and change that one",
            )
        return record

    def update_key(self, org_id: str, key_id: str, body: dict[str, Any]) -> dict[str, Any]:
        record = dict(self._key(org_id, key_id, changing=True))
        if not any(k in body for k in ("set_name", "set_scopes", "set_expires_at_seconds")):
            raise BadRequest("nothing to update: set at least one of set_name, set_scopes, set_expires_at_seconds")
        if "set_expires_at_seconds" in body:
            self._check_expiry(body["set_expires_at_seconds"])
            record["expires_at_seconds"] = int(body["set_expires_at_seconds"] or 0)
        if "set_name" in body:
            record["key_name"] = body["set_name"]
        if "set_scopes" in body:
            record["scopes"] = list(body["set_scopes"])
        return self.key_view(self.keys.put(key_id, record))

    def delete_key(self, org_id: str, key_id: str) -> dict[str, Any]:
        record = self._key(org_id, key_id, changing=True)
        self.keys.delete(key_id)
        self._by_token.pop(record.get("token_sha256", ""), None)
        return {"key_id": key_id}

    @staticmethod
    def key_scopes() -> list[dict[str, str]]:
        return [{"scope_id": s, "display_name": label} for s, label in SCOPES.items()]

    # -- users ----------------------------------------------------------------------------
    def _org_users(self, org_id: str) -> list[dict[str, Any]]:
        rows = [u for u in self.users.values() if u["org_id"] == org_id]
        rows.sort(key=lambda u: (u["created_at"], u["user_id"]))
        return rows

    @staticmethod
    def user_view(record: dict[str, Any]) -> dict[str, Any]:
        out = {k: record[k] for k in ("user_id", "email", "email_confirmed", "created_at", "role")}
        # the vendor types last_active_at an integer: a user who never logged in has none
        for key in ("first_name", "last_name", "last_active_at"):
            if record.get(key) is not None:
                out[key] = record[key]
        return out

    def list_users(self, org_id: str, page_number: int, page_size: int) -> list[dict[str, Any]]:
        self.org(org_id)
        rows = self._org_users(org_id)
        start = page_number * page_size
        return [self.user_view(u) for u in rows[start : start + page_size]]

    def add_user(self, org_id: str, email: str, role: str, **extra: Any) -> dict[str, Any]:
        self.org(org_id)
        if any(u["email"].lower() == email.lower() for u in self._org_users(org_id)):
            raise BadRequest(f"{email} is already a user of this organization")
        user_id = self.ids.uuid("user")
        record = {
            "user_id": user_id,
            "org_id": org_id,
            "email": email,
            "email_confirmed": bool(extra.get("email_confirmed", False)),
            "first_name": extra.get("first_name"),
            "last_name": extra.get("last_name"),
            "created_at": int(extra.get("created_at") or self.now()),
            "last_active_at": extra.get("last_active_at"),
            "role": role,
        }
        self.users.put(user_id, record)
        # a direct add settles any pending invitation for the address
        self.invitations.delete(f"{org_id}|{email.lower()}")
        return self.user_view(record)

    def _user(self, org_id: str, user_id: str) -> dict[str, Any]:
        record = self.users.get(user_id)
        if record is None or record["org_id"] != org_id:
            raise not_found("user", user_id)
        return record

    def update_user(self, org_id: str, user_id: str, body: dict[str, Any]) -> dict[str, Any]:
        record = dict(self._user(org_id, user_id))
        fields = {"set_first_name": "first_name", "set_last_name": "last_name", "set_role": "role"}
        return self.user_view(self.users.put(user_id, apply_set_fields(record, body, fields)))

    def delete_user(self, org_id: str, user_id: str) -> dict[str, Any]:
        self._user(org_id, user_id)
        self.users.delete(user_id)
        return {}

    # -- invitations ------------------------------------------------------------------------
    def _pending_invites(self, org_id: str) -> list[dict[str, Any]]:
        now = self.now()
        rows = [i for i in self.invitations.values() if i["org_id"] == org_id and i["expires_at"] > now]
        rows.sort(key=lambda i: (i["created_at"], i["invitee_email"]))
        return rows

    @staticmethod
    def invite_view(record: dict[str, Any]) -> dict[str, Any]:
        out = {k: record[k] for k in ("invitee_email", "role", "created_at", "expires_at")}
        if record.get("inviter_email"):
            out["inviter_email"] = record["inviter_email"]
        return out

    def list_invites(self, org_id: str, page_number: int, page_size: int) -> dict[str, Any]:
        self.org(org_id)
        rows = self._pending_invites(org_id)
        start = page_number * page_size
        return {"invites": [self.invite_view(i) for i in rows[start : start + page_size]], "total_invites": len(rows)}

    def invite(self, org_id: str, email: str, role: str, created_at: float | None = None) -> dict[str, Any]:
        org = self.org(org_id)
        if any(u["email"].lower() == email.lower() for u in self._org_users(org_id)):
            raise BadRequest(f"{email} is already a user of this organization")
        created = int(created_at if created_at is not None else self.now())
        record = {
            "org_id": org_id,
            "invitee_email": email,
            "role": role,
            "created_at": created,
            "expires_at": created + INVITATION_TTL,
        }
        inviter = (org.get("contact_info") or {}).get("email")
        if inviter:
            record["inviter_email"] = inviter
        self.invitations.put(f"{org_id}|{email.lower()}", record)
        return self.invite_view(record)

    def revoke_invite(self, org_id: str, email: str) -> dict[str, Any]:
        self.org(org_id)
        key = f"{org_id}|{email.lower()}"
        record = self.invitations.get(key)
        if record is None or record["expires_at"] <= self.now():
            raise NotFound(f"no pending invitation for {email}")
        self.invitations.delete(key)
        return {}

    # -- webhooks ---------------------------------------------------------------------------
    @staticmethod
    def webhook_view(record: dict[str, Any], secret: bool = False) -> dict[str, Any]:
        keys = ["webhook_id", "org_id", "name", "url", "max_batch_size"] + (["secret"] if secret else [])
        return {k: record[k] for k in keys}

    def create_webhook(self, org_id: str, body: dict[str, Any]) -> dict[str, Any]:
        self.org(org_id)
        webhook_id = self.ids.uuid("webhook")
        record = {
            "webhook_id": webhook_id,
            "org_id": org_id,
            "name": body.get("name", ""),
            "url": body["url"],
            "max_batch_size": int(body.get("max_batch_size", 100)),
            "secret": self.ids.token("webhook_secret", 24),
            "created_at": self.now(),
        }
        self.webhooks.put(webhook_id, record)
        return self.webhook_view(record, secret=True)

    def list_webhooks(self, org_id: str) -> list[dict[str, Any]]:
        self.org(org_id)
        rows = [w for w in self.webhooks.values() if w["org_id"] == org_id]
        rows.sort(key=lambda w: (w["created_at"], w["webhook_id"]))
        return [self.webhook_view(w) for w in rows]

    def _webhook(self, org_id: str, webhook_id: str) -> dict[str, Any]:
        record = self.webhooks.get(webhook_id)
        if record is None or record["org_id"] != org_id:
            raise not_found("webhook", webhook_id)
        return record

    def update_webhook(self, org_id: str, webhook_id: str, body: dict[str, Any]) -> dict[str, Any]:
        record = dict(self._webhook(org_id, webhook_id))
        fields = {"set_name": "name", "set_url": "url", "set_max_batch_size": "max_batch_size"}
        return self.webhook_view(self.webhooks.put(webhook_id, apply_set_fields(record, body, fields)))

    def delete_webhook(self, org_id: str, webhook_id: str) -> dict[str, Any]:
        self._webhook(org_id, webhook_id)
        self.webhooks.delete(webhook_id)
        self.emitter.cancel_pending(webhook_id)
        return {}

    def check_webhook_secret(self, secret: str) -> None:
        if not any(w["secret"] == secret for w in self.webhooks.values()):
            raise Unauthorized("HTTP-X-HUBBLE-TOKEN matches no registered webhook's secret")

    # -- API request counts (api_metrics) -----------------------------------------------------
    def _count_request(self, org_id: str) -> None:
        self._bump_count(org_id, total=1, ok=0)

    def count_success(self, org_id: str) -> None:
        self._bump_count(org_id, total=0, ok=1)

    def _bump_count(self, org_id: str, total: int, ok: int) -> None:
        hour = int(self.now()) // 3600 * 3600
        key = f"{org_id}|{hour}"
        counts = self.api_counts
        row = counts.get(key)
        if row is None:
            counts.put(key, {"org_id": org_id, "hour": hour, "total": total, "ok": ok})
        else:
            counts.put(key, {**row, "total": row["total"] + total, "ok": row["ok"] + ok})


def _check_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadRequest(f"set_timezone: {name!r} is not an IANA time zone name") from None
