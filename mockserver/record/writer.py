"""Writing a recording: the scenario YAML (with where, when and what was scrubbed), the
drift report beside it, and `--since`: a refresh that keeps the user's hand edits.

A refresh compares each entry with the fingerprint of what was recorded last time (kept in
`x-fingerprints`, at the end of the file): an entry upstream did not change keeps its text from the old
file, hand edits included; a changed one is replaced; new ones are added; ones that went
away upstream are removed; entries added by hand (no fingerprint) stay.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

# lists merged entry by entry on refresh: (section path, key field)
KEYED = {
    "hubble.recorded.devices": "id",
    "hubble.recorded.users": "user_id",
    "hubble.recorded.invitations": "invitee_email",
    "hubble.recorded.webhooks": "webhook_id",
    "hubble.recorded.invoices": "invoice_id",
    "hubble.keys": "name",
    "hubby.bookings": "booking_id",  # or email and departure when a booking has no booking_id
    "hubby.packages": "id",
}
PACKETS = "hubble.recorded.packets"
SINGLE = ("hubble.org",)
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _entry_key(entry: dict[str, Any], key: str) -> str:
    value = entry.get(key)
    if value is None and key == "booking_id":
        return f"{entry.get('email')}|{entry.get('departure_date')}"
    return str(value)


def fingerprint(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _get(doc: dict[str, Any], path: str) -> Any:
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _set(doc: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = doc
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def fingerprints(doc: dict[str, Any]) -> dict[str, list[str]]:
    """Per list, "KEY HASH" strings (a list, not a mapping: cheap to load, one line each)."""
    out: dict[str, list[str]] = {}
    for path, key in KEYED.items():
        items = _get(doc, path)
        if isinstance(items, list):
            out[path] = [f"{_entry_key(i, key)} {fingerprint(i)}" for i in items if isinstance(i, dict)]
    for path in SINGLE:
        value = _get(doc, path)
        if value is not None:
            out[path] = [f"- {fingerprint(value)}"]
    return out


def _read_prints(doc: dict[str, Any]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for path, lines in (doc.get("x-fingerprints") or {}).items():
        if isinstance(lines, list):
            out[path] = dict(str(line).rsplit(" ", 1) for line in lines if " " in str(line))
    return out


def packet_key(p: dict[str, Any]) -> str:
    return f"{p.get('device_id')}|{p.get('timestamp')}|{p.get('network_type')}"


def merge(old: dict[str, Any], new: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The refreshed document and one line per list saying what changed."""
    before = _read_prints(old)
    lines: list[str] = []
    for path, key in KEYED.items():
        new_items, old_items = _get(new, path), _get(old, path)
        if not isinstance(new_items, list) or not isinstance(old_items, list):
            continue
        seen = before.get(path) or {}
        old_by = {_entry_key(i, key): i for i in old_items if isinstance(i, dict)}
        counts: Counter[str] = Counter()
        out = []
        new_keys = set()
        for entry in new_items:
            k = _entry_key(entry, key)
            new_keys.add(k)
            if k in old_by and seen.get(k) == fingerprint(entry):
                out.append(old_by[k])
                counts["hand edits kept" if old_by[k] != entry else "unchanged"] += 1
            else:
                out.append(entry)
                counts["changed" if k in old_by or k in seen else "added"] += 1
        for k, entry in old_by.items():
            if k in new_keys:
                continue
            if k in seen:
                counts["removed upstream"] += 1
            else:
                out.append(entry)
                counts["hand-added kept"] += 1
        _set(new, path, out)
        lines.append(_line(path, counts))
    for path in SINGLE:
        value, old_value = _get(new, path), _get(old, path)
        if value is not None and old_value is not None and (before.get(path) or {}).get("-") == fingerprint(value):
            _set(new, path, old_value)
            lines.append(_line(path, Counter({"hand edits kept" if old_value != value else "unchanged": 1})))
        elif value is not None:
            lines.append(_line(path, Counter({"changed": 1})))
    new_packets, old_packets = _get(new, PACKETS), _get(old, PACKETS)
    if isinstance(new_packets, list) and isinstance(old_packets, list):
        old_by = {packet_key(p): p for p in old_packets if isinstance(p, dict)}
        new_keys = {packet_key(p) for p in new_packets}
        merged = [old_by.get(packet_key(p), p) for p in new_packets]
        counts = Counter({"added": len(new_keys - set(old_by)), "gone upstream": len(set(old_by) - new_keys),
                          "unchanged": len(new_keys & set(old_by))})  # fmt: skip
        _set(new, PACKETS, merged)
        lines.append(_line(PACKETS, counts))
    return new, lines


def _line(path: str, counts: Counter[str]) -> str:
    parts = [f"{n} {what}" for what, n in counts.items() if n]
    return f"{path}: {', '.join(parts) or 'nothing'}"


def header(meta: dict[str, Any]) -> str:
    sources = "; ".join(f"{s['api']} {s['base_url']}" + (f" (org {s['org_id']})" if s.get("org_id") else "") for s in meta["sources"])
    replaced = ", ".join(f"{k} {v}" for k, v in meta["scrubbed"]["replaced"].items()) or "nothing found"
    kept = ", ".join(meta["scrubbed"]["kept"]) or "none"
    return (
        f"# Recorded by `mockserver record` from {sources} at {meta['recorded_at_iso']}.\n"
        f"# Scrubbed (stable Faker values): {replaced}. Kept as recorded (--keep): {kept}.\n"
        f"# Packet payloads and locations: {'generated (--anonymize)' if meta['anonymized'] else 'as recorded'}.\n"
        "# Device keys and webhook secrets are never recorded: the sandbox generates them from --seed.\n"
        f"# Replay: mockserver serve --scenario THIS_FILE; refresh: mockserver record ... --since THIS_FILE\n"
    )


def dump(doc: dict[str, Any]) -> str:
    """YAML in block style down to the lists, one entry a line as a flow mapping (JSON is
    YAML): fast to write and load, and a diff or a hand edit touches one line per entry."""
    out: list[str] = []
    _emit(doc, 0, out)
    return "".join(out)


def _key(k: Any) -> str:
    k = str(k)
    return k if _PLAIN.match(k) else json.dumps(k)


def _flow(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, separators=(", ", ": "))


def _emit(value: dict[str, Any], indent: int, out: list[str]) -> None:
    pad = " " * indent
    for k, v in value.items():
        if isinstance(v, dict) and v and (indent <= 2 or len(_flow(v)) > 100):
            out.append(f"{pad}{_key(k)}:\n")
            _emit(v, indent + 2, out)
        elif isinstance(v, list) and v:
            out.append(f"{pad}{_key(k)}:\n")
            out.extend(f"{pad}- {_flow(item)}\n" for item in v)
        else:
            out.append(f"{pad}{_key(k)}: {_flow(v)}\n")


def write(path: Path, doc: dict[str, Any], meta: dict[str, Any]) -> None:
    text = header(meta) + dump(doc)
    tmp = path.with_name(path.name + ".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def report_path(out: Path) -> Path:
    return out.with_name(out.stem + ".drift.jsonl")


def write_report(out: Path, drift: list[dict[str, Any]]) -> Path | None:
    """Spec drift seen while recording, one JSON object a line (the proxy's format)."""
    path = report_path(out)
    if not drift:
        path.unlink(missing_ok=True)
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for entry in drift:
            fh.write(json.dumps(entry, sort_keys=True) + "\n")
    return path
