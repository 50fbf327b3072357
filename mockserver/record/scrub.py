"""Scrubbing: personal data and anything secret-looking replaced with stable Faker values.

The same input maps to the same output (Faker seeded by a hash of the kind and the value), so
a user keeps one address across users, invitations and refreshes, and a hand-edited file
stays comparable with the next recording. `keep` names the kinds left as recorded.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from typing import Any

from faker import Faker

KINDS = ("email", "first_name", "last_name", "phone", "address", "webhook_url", "secret")
EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
JWT = re.compile(r"eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}")
# long runs mixing letters and digits (API keys, hex secrets, bearer tokens)
TOKENISH = re.compile(r"(?<![A-Za-z0-9])(?=[A-Za-z0-9_\-]*[0-9])(?=[A-Za-z0-9_\-]*[A-Za-z])[A-Za-z0-9_\-]{24,}(?![A-Za-z0-9])")
SECRET_WORDS = re.compile(r"(?i)(secret|token|passw|api[_-]?key|bearer|signature)")


class Scrubber:
    def __init__(self, keep: set[str] | None = None, secrets: list[str] | None = None) -> None:
        unknown = set(keep or ()) - set(KINDS)
        if unknown:
            raise ValueError(f"--keep: unknown field {sorted(unknown)}; known: {', '.join(KINDS)}")
        self.keep = set(keep or ())
        self.secrets = sorted({s for s in secrets or [] if s and len(s) >= 6}, key=len, reverse=True)
        self.counts: Counter[str] = Counter()
        self._fake = Faker()

    def _faker(self, kind: str, value: str) -> Faker:
        self._fake.seed_instance(int.from_bytes(hashlib.sha256(f"{kind}\0{value}".encode()).digest()[:8], "big"))
        return self._fake

    @staticmethod
    def _tag(value: str, n: int = 6) -> str:
        return hashlib.sha256(value.encode()).hexdigest()[:n]

    def replace(self, kind: str, value: Any) -> Any:
        """The stable stand-in for one value of a kind (kept kinds and non-strings pass)."""
        if not isinstance(value, str) or not value or kind in self.keep:
            return self.text(value) if isinstance(value, str) and kind != "secret" else value
        self.counts[kind] += 1
        fake = self._faker(kind, value.lower() if kind == "email" else value)
        if kind == "email":
            return f"{fake.first_name().lower()}.{fake.last_name().lower()}.{self._tag(value.lower(), 4)}@example.com"
        if kind == "first_name":
            return fake.first_name()
        if kind == "last_name":
            return fake.last_name()
        if kind == "phone":
            return "+1555" + f"{int(self._tag(value, 8), 16) % 10**7:07d}"
        if kind == "address":
            return fake.street_address()
        if kind == "webhook_url":
            return f"https://hooks.example.com/{fake.uri_path()}/{self._tag(value, 8)}"
        return self._fake_secret(value)

    def _fake_secret(self, value: str) -> str:
        digest = hashlib.sha256(("secret\0" + value).encode()).hexdigest()
        return ("scrubbed-" + digest)[: max(len(value), 16)]

    def text(self, value: Any) -> Any:
        """Free text (device names, tags, webhook names): the source's own credentials, emails
        and anything that looks like a token or a JWT are replaced inside it."""
        if not isinstance(value, str) or not value:
            return value
        out = value
        for secret in self.secrets:  # never kept: these are the credentials used to record
            if secret in out:
                self.counts["secret"] += 1
                out = out.replace(secret, self._fake_secret(secret))
        if "secret" not in self.keep:
            out = JWT.sub(lambda m: self._count("secret", self._fake_secret(m.group())), out)
            out = TOKENISH.sub(lambda m: self._count("secret", self._fake_secret(m.group())) if _looks_random(m.group()) else m.group(), out)
        if "email" not in self.keep:
            out = EMAIL.sub(lambda m: self.replace("email", m.group()), out)
        return out

    def _count(self, kind: str, value: str) -> str:
        self.counts[kind] += 1
        return value

    def url(self, value: str) -> str:
        """A webhook URL: replaced whole, or (kept) with credentials in its query removed."""
        if "webhook_url" not in self.keep:
            return self.replace("webhook_url", value)
        return self.text(value)

    def summary(self) -> dict[str, Any]:
        return {"replaced": {k: self.counts[k] for k in KINDS if self.counts[k]}, "kept": sorted(self.keep)}


def _looks_random(token: str) -> bool:
    """UUIDs and ordinary identifiers ("sensor-000123") are not secrets; 24+ characters with
    many distinct symbols and several digit/letter changes are."""
    if re.fullmatch(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", token):
        return False
    changes = sum(1 for a, b in zip(token, token[1:], strict=False) if a.isdigit() != b.isdigit())
    return len(set(token)) >= 12 and changes >= 4


def secret_keys(value: dict[str, Any]) -> list[str]:
    """Keys of a mapping whose names say they hold a secret."""
    return [k for k in value if SECRET_WORDS.search(k)]
