"""Issue 10: booking views are reused for repeated reads while the booking, its promo codes
and its queues are unchanged; every change to any of them shows on the next read."""

from __future__ import annotations

from typing import Any

import httpx
from hubby_helpers import create, simulate

from mockserver.testing import MockServer


def _listed(client: httpx.Client, booking: str) -> dict[str, Any]:
    r = client.get("/bookings", params={"perPage": 100})
    assert r.status_code == 200, r.text
    return next(b for b in r.json()["data"] if b["id"] == booking)


def _one(client: httpx.Client, booking: str) -> dict[str, Any]:
    r = client.get(f"/bookings/{booking}")
    assert r.status_code == 200, r.text
    return r.json()["data"]


def test_reads_show_changes_to_the_booking_its_codes_and_its_queues(hubby_api: Any, mockserver: MockServer) -> None:
    client = hubby_api.client
    b = create(client, first_name="Ada", last_name="Lovelace")
    first = _listed(client, b["id"])
    assert _listed(client, b["id"]) == first == _one(client, b["id"])  # a repeated read: the same answer
    code = first["promo_codes"][0]
    assert code["claimed_at"] is None and code["redeemed_at"] is None

    claim = httpx.post(f"{hubby_api.base_url}/promo-codes/claim/{code['uuid']}", json={"email": "t@example.com"}, timeout=30)
    assert claim.status_code == 200, claim.text  # a change to the promo code only
    claimed = _listed(client, b["id"])
    assert claimed["promo_codes"][0]["claimed_at"] is not None
    assert {k: v for k, v in claimed.items() if k != "promo_codes"} == {k: v for k, v in first.items() if k != "promo_codes"}

    simulate(mockserver, f"promo-codes/{code['promo_code']}/redeem")  # a queue and an eSIM too
    redeemed = _listed(client, b["id"])
    assert redeemed["promo_codes"][0]["redeemed_at"] is not None
    assert _one(client, b["id"]) == redeemed

    r = client.put(f"/bookings/{b['id']}", json={"last_name": "Byron"})  # a change to the booking
    assert r.status_code == 200, r.text
    assert _listed(client, b["id"])["full_name"] == "Ada Byron"

    other = create(client, first_name="Grace", booking_id="OTHER-001")
    assert client.delete(f"/bookings/{other['id']}").status_code == 200  # cancels its codes and queues
    cancelled = _listed(client, other["id"])
    assert cancelled["status"] == "CANCELLED"
    assert all(q["status"] == "declined" and q["declined_at"] for q in cancelled["package_queues"])


def test_the_partner_index_lists_newest_first_and_pages(hubby_api: Any, mockserver: MockServer) -> None:
    """GET /bookings reads a per-partner index kept in created_at order: new bookings come
    first, pages are slices of that order, bookingId filters, a reset rebuilds it."""
    client = hubby_api.client
    seeded = client.get("/bookings", params={"perPage": 100}).json()
    made = [create(client, booking_id=f"IDX-{i}")["id"] for i in range(3)]
    listed = client.get("/bookings", params={"perPage": 100}).json()
    assert listed["meta"]["total"] == seeded["meta"]["total"] + 3
    ids = [b["id"] for b in listed["data"]]
    assert ids[:3] == made[::-1] and ids[3:] == [b["id"] for b in seeded["data"]]
    stamps = [b["created_at"] for b in listed["data"]]
    assert stamps == sorted(stamps, reverse=True)
    second = client.get("/bookings", params={"perPage": 2, "page": 2}).json()
    assert [b["id"] for b in second["data"]] == ids[2:4]
    one = client.get("/bookings", params={"bookingId": "IDX-1"}).json()
    assert [b["id"] for b in one["data"]] == [made[1]] and one["meta"]["total"] == 1
    mockserver.reset("hubby")
    again = client.get("/bookings", params={"perPage": 100}).json()
    assert [b["id"] for b in again["data"]] == [b["id"] for b in seeded["data"]]
