"""The traveler's side (no HTTP): the WebView hand-off (redirect token, session JWT),
the dashboards of the web app and of native apps, install instructions, native package
redemption and the device compatibility check."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from ....kernel.errors import BadRequest, NotFound, Unauthorized
from ....kernel.lazy import on_first_use
from ..timeutil import iso
from .esims import StateConflict
from .state import HubbyState

jwt: Any = on_first_use(globals(), "jwt", "jwt")  # PyJWT imports `cryptography` (~0.1 s)

REDIRECT_TOKEN_SECONDS = 300
SESSION_SECONDS = 3600
WEBAPP_URL = "https://webapp.hubbyesim.com/auth"


class TravelerMixin(HubbyState):
    """Mixed into HubbyBackend: what the traveler's app and the web app see."""

    # -- WebView ----------------------------------------------------------------------------------
    def traveler_known(self, partner: dict[str, Any], user: str) -> bool:
        return any(self._user_bookings(partner, user))

    def _user_bookings(self, partner: dict[str, Any], user: str) -> list[dict[str, Any]]:
        out = []
        for b in self.bookings.values():
            if b["partner"] != partner["id"]:
                continue
            if b.get("external_user_id") == user or any(s.get("external_user_id") == user for s in b["package_specifications"]):
                out.append(b)
        return out

    def create_redirect_token(self, partner: dict[str, Any], user: str, email: str | None) -> dict[str, Any]:
        if not self.traveler_known(partner, user):
            raise NotFound(f"Traveler not found: no booking of this partner names external_user_id {user}")
        token = f"rt_{self.ids.hex('redirect_token', 32)}"
        record = {"token": token, "partner": partner["id"], "external_user_id": user, "email": email,
                  "created_at": self.now(), "expires_at": self.now() + REDIRECT_TOKEN_SECONDS, "used_at": None}  # fmt: skip
        self.redirect_tokens.put(token, record)
        return {"token": token, "redirect_token": token, "redirect_url": f"{WEBAPP_URL}?token={token}", "expires_at": iso(record["expires_at"])}

    def exchange_redirect_token(self, token: str) -> dict[str, Any]:
        record = self.redirect_tokens.get(token)
        prefix = "Redirect token is invalid or expired"
        if record is None:
            raise Unauthorized(f"{prefix}: unknown token")
        if record["used_at"] is not None:
            raise Unauthorized(f"{prefix}: it was already exchanged at {iso(record['used_at'])} (tokens are single-use)")
        if self.now() >= record["expires_at"]:
            ago = self.now() - record["expires_at"]
            raise Unauthorized(f"{prefix}: it expired at {iso(record['expires_at'])}, {ago:.0f} s ago (tokens live {REDIRECT_TOKEN_SECONDS} s)")
        self.redirect_tokens.put(token, {**record, "used_at": self.now()})
        now = int(self.now())
        claims = {"iss": "hubby-mockserver", "sub": record["external_user_id"], "partner": record["partner"],
                  "iat": now, "exp": now + SESSION_SECONDS, "jti": self.ids.uuid("session")}  # fmt: skip
        session = jwt.encode(claims, self.webapp_key(), algorithm="HS256")
        return {"token": session, "token_type": "Bearer", "expires_at": iso(now + SESSION_SECONDS),
                "external_user_id": record["external_user_id"]}  # fmt: skip

    def session_principal(self, token: str) -> dict[str, Any]:
        """A web-app session JWT -> {"partner": ..., "external_user_id": ...}; 401 otherwise."""
        prefix = "Invalid or expired session"
        try:
            claims = jwt.decode(
                token, self.webapp_key(), algorithms=["HS256"],
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False, "require": ["sub", "exp", "partner"]},
            )  # fmt: skip
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"{prefix}: {exc}") from None
        if self.now() >= float(claims["exp"]):
            raise Unauthorized(f"{prefix}: the session expired at {iso(float(claims['exp']))}")
        partner = self.partners.get(claims["partner"])
        if partner is None:
            raise Unauthorized(f"{prefix}: its partner no longer exists")
        return {"partner": partner, "external_user_id": claims["sub"]}

    # -- traveler views (web app and native) ------------------------------------------------------
    def dashboard(self, partner: dict[str, Any], user: str, *, must_exist: bool = True) -> dict[str, Any]:
        bookings = self._user_bookings(partner, user)
        if not bookings and must_exist:
            raise NotFound(f"Traveler not found: no booking of this partner names external_user_id {user}")
        latest = max(bookings, key=lambda b: b["created_at"]) if bookings else {}
        queues = [q for q in self.queues.values() if q["partner"] == partner["id"] and q["external_user_id"] == user]
        esim = self._traveler_esim(partner, user)
        codes = {self.promo_codes[c].get("destination_code") for b in bookings for c in b["promo_codes"]} - {None}
        wanted = set()
        for code in codes:
            resolved = self.catalog.resolve_code(code)
            if resolved:
                wanted.update(resolved[1])
        topups = [p for p in self.catalog.packages if p["package_type"] == "data-limited" and wanted.intersection(p["destinations"])]
        return {
            "user": {
                "id": "usr_" + hashlib.sha256(f"{partner['id']}:{user}".encode()).hexdigest()[:20],
                "external_user_id": user,
                "email": latest.get("email"),
                "locale": latest.get("locale"),
            },
            "package_queues": [self.queue_view(q) for q in queues],
            "esim": self.esim_view(esim) if esim else None,
            "packages": topups[:30],
            "partner": {"id": partner["id"], "name": partner["name"]},
        }

    def _traveler_esim(self, partner: dict[str, Any], user: str) -> dict[str, Any] | None:
        mine = [e for e in self.esims.values() if e["partner"] == partner["id"] and e["external_user_id"] == user]
        mine.sort(key=lambda e: (e["esim_type"] == "universal", e["created_at"]))
        return mine[-1] if mine else None

    def instructions(self, partner: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        user = body["external_user_id"]
        esim = self._traveler_esim(partner, user)
        if esim is None:
            if not self.traveler_known(partner, user):
                raise NotFound(f"Traveler not found: no booking of this partner names external_user_id {user}")
            raise NotFound(f"eSIM not found: traveler {user} has no eSIM yet (redeem a package first)")
        platform = body.get("platform")
        code = f"LPA:1${esim['smdp_address']}${esim['matching_id']}"
        return {
            "iccid": esim["iccid"],
            "platform": platform,
            "activation_code": code,
            "smdp_address": esim["smdp_address"],
            "matching_id": esim["matching_id"],
            "steps": _steps(platform, code),
        }

    def redeem_queue(self, partner: dict[str, Any], user: str, queue_id: str) -> dict[str, Any]:
        queue = self.queues.get(queue_id)
        if queue is None or queue["partner"] != partner["id"] or queue["external_user_id"] != user:
            raise NotFound(f"Package queue entry not found: {queue_id} for external_user_id {user}")
        if queue["status"] != "queued":
            raise BadRequest(f"Package queue entry {queue_id} was already {queue['status']}")
        if queue["package_id"] is None:
            raise BadRequest(f"Package queue entry {queue_id} has no destination yet: redeem its promo code with a destination")
        try:
            result = self.redeem_promo_code(queue["promo_code"], user, None)
        except StateConflict as exc:
            raise BadRequest(exc.message) from None
        return {"package_queue": self.queue_view(self.queues[queue_id]), "esim": self.esim_view(self.esims[result["esim"]])}


def _steps(platform: str | None, code: str) -> list[dict[str, Any]]:
    if platform == "ios":
        texts = [
            ("Open Settings", "Go to Settings and tap Mobile Service (or Cellular)."),
            ("Add eSIM", "Tap Add eSIM, then Use QR Code."),
            ("Enter details manually", f"If scanning is not possible, tap Enter Details Manually and enter {code}."),
            ("Turn on data roaming", "Select the Hubby line for mobile data and turn on Data Roaming when you arrive."),
        ]
    elif platform == "android":
        texts = [
            ("Open Settings", "Go to Settings > Network & internet > SIMs."),
            ("Add eSIM", "Tap Add SIM (or Download a SIM instead) and scan the QR code."),
            ("Enter the code", f"If scanning is not possible, enter the activation code {code}."),
            ("Turn on roaming", "Set the Hubby eSIM for mobile data and turn on Roaming when you arrive."),
        ]
    else:
        texts = [
            ("Open your eSIM settings", "Find the mobile network or SIM section of your device settings."),
            ("Add the eSIM", f"Add an eSIM by scanning the QR code or entering {code}."),
            ("Use it abroad", "Select the Hubby eSIM for mobile data and turn on roaming when you arrive."),
        ]
    return [{"step": n, "title": t, "description": d} for n, (t, d) in enumerate(texts, start=1)]


_COMPATIBLE = [
    re.compile(r"iphone\s*(x[sr]|1[1-9]|[2-9]\d|se\s*\(?(2|3|20(20|22))|air|pro)", re.I),
    re.compile(r"ipad\s*(pro|air|mini)", re.I),
    re.compile(r"pixel\s*([3-9]|1\d|fold)", re.I),
    re.compile(r"galaxy\s*(s(2[0-9]|[3-9]\d)|z\s*(fold|flip)|note\s*2\d|a5[4-9])", re.I),
    re.compile(r"\b(s2[0-9]|z\s*(fold|flip))", re.I),
]
_INCOMPATIBLE_HINT = re.compile(r"iphone\s*([4-8]|x\b)|pixel\s*[12]\b|galaxy\s*s([0-9]|1[0-9])\b", re.I)


def compatibility(body: dict[str, Any]) -> dict[str, Any]:
    """Whether a device model supports eSIM, from a small table of known models."""
    model = body["device_model"]
    compatible = any(p.search(model) for p in _COMPATIBLE) and not _INCOMPATIBLE_HINT.search(model)
    if compatible:
        reason = None
    elif _INCOMPATIBLE_HINT.search(model):
        reason = f"{model} has no eSIM support"
    else:
        reason = f"{model} is not a known eSIM-capable device"
    return {"compatible": compatible, "platform": body.get("platform"), "device_model": model, "reason": reason}
