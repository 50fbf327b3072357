"""Bookings through the HTTP surface: creation by package id and by destination, every
validation rule (all at once), multi-destination, destinationless, promo codes and claim
links, cancellation rules, updates, partner isolation, the catalogue and 404s."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hubby_helpers import booking_body, create, simulate

from mockserver.testing import MockServer


def test_create_by_destination_size_and_type(hubby_api: Any) -> None:
    b = create(hubby_api.client, email="ada@example.com", first_name="Ada", last_name="Lovelace", locale="en-GB")
    assert b["id"].startswith("bk_") and b["status"] == "CONFIRMED"
    assert b["full_name"] == "Ada Lovelace" and b["pax"] == 1 and b["partner"] == "partner_sandbox"
    assert b["external_user_id"] == "traveler_1"
    (code,) = b["promo_codes"]
    assert code["package_id"] == "pkg_gr_1gb_365"
    assert (code["package_size"], code["destination"], code["iso3"]) == ("1GB", "Greece", "GRC")
    assert (code["package_type"], code["package_duration"], code["type"]) == ("data-limited", 365, "booking")
    assert code["claim_url"] is None  # the booking has an email
    assert code["deep_link_url"] == f"https://hubby-esim.web.app/starter/?promoCode={code['promo_code']}"
    assert code["valid_to"] == "2031-07-15T12:30:00Z"  # a year after departure
    (queue,) = b["package_queues"]  # the spec names a traveler: a universal-eSIM queue entry
    assert queue["status"] == "queued" and queue["package_id"] == "pkg_gr_1gb_365" and queue["esim_type"] == "universal"


def test_the_plugin_booking_helper(hubby_api: Any) -> None:
    created = hubby_api.create_booking(booking_id="PLUGIN-1")["data"][0]
    assert created["promo_codes"][0]["package_id"] == "pkg_tr_1gb_365"
    assert hubby_api.bookings(bookingId="PLUGIN-1")["meta"]["total"] == 1


def test_create_by_package_id_ignores_the_other_fields(hubby_api: Any) -> None:
    b = create(hubby_api.client, package_specifications=[{"package_id": "pkg_tr_unlimited_7", "destination": "GR", "size": "9GB"}])
    code = b["promo_codes"][0]
    assert (code["package_id"], code["package_size"], code["iso3"], code["package_duration"]) == ("pkg_tr_unlimited_7", None, "TUR", 7)
    assert b["package_specifications"] == [{"package_id": "pkg_tr_unlimited_7", "destination": "GR", "size": "9GB"}]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"destination": "GRC"}, "pkg_gr_1gb_365"),  # ISO3, default type, smallest size
        ({"destination": "GR", "package_type": "starter"}, "pkg_gr_starter_500mb_2"),
        ({"destination": "GR", "package_type": "unlimited", "package_duration": 15}, "pkg_gr_unlimited_15"),
        ({"destination": "GR", "package_type": "time-limited", "size": "3GB"}, "pkg_gr_tl_3gb_15"),
        ({"destination": "EU", "size": "5GB"}, "pkg_eu_5gb_365"),  # a region code
    ],
)
def test_package_resolution(hubby_api: Any, spec: dict[str, Any], expected: str) -> None:
    b = create(hubby_api.client, package_specifications=[spec])
    assert [c["package_id"] for c in b["promo_codes"]] == [expected]


def test_unlimited_without_duration_lasts_the_trip(hubby_api: Any) -> None:
    b = create(hubby_api.client, departure_date="2030-07-01", return_date="2030-07-12",
               package_specifications=[{"destination": "GR", "package_type": "unlimited"}])  # fmt: skip
    assert b["promo_codes"][0]["package_id"] == "pkg_gr_unlimited_15"  # 11 days: the shortest that lasts


@pytest.mark.parametrize(
    ("destinations", "expected"),
    [
        (["FR", "IT", "ES"], ["pkg_eu_3gb_365"]),  # one regional eSIM beats three
        (["FR", "TR"], ["pkg_fr_3gb_365", "pkg_tr_3gb_365"]),  # no package covers both
        (["FR", "IT", "TUR"], ["pkg_eu_3gb_365", "pkg_tr_3gb_365"]),
        (["JP"], ["pkg_jp_3gb_365"]),  # a country's own package beats its region's
    ],
)
def test_multi_destination_picks_the_fewest_esims(hubby_api: Any, destinations: list[str], expected: list[str]) -> None:
    b = create(hubby_api.client, package_specifications=[{"destination": destinations, "size": "3GB"}])
    assert sorted(c["package_id"] for c in b["promo_codes"]) == expected


def test_destinationless_booking(hubby_api: Any) -> None:
    b = create(hubby_api.client, package_specifications=[{"package_type": "starter"}])
    code = b["promo_codes"][0]
    assert code["type"] == "booking_without_destination"
    assert (code["package_id"], code["destination"], code["iso3"], code["package_duration"]) == (None, None, None, 2)


def test_claim_url_when_there_is_no_email(hubby_api: Any, mockserver: MockServer) -> None:
    b = create(hubby_api.client)
    code = b["promo_codes"][0]
    assert code["claim_url"] == f"https://platform.hubbyesim.com/free-esim/sandbox-partner?uuid={code['uuid']}"
    r = httpx.post(f"{hubby_api.base_url}/promo-codes/claim/{code['uuid']}", json={"email": "t@example.com"}, timeout=30)
    assert r.status_code == 200
    assert r.json() == {"success": True, "message": "Promo code claimed and email sent successfully", "data": {}}
    again = httpx.post(f"{hubby_api.base_url}/promo-codes/claim/{code['uuid']}", json={"email": "t@example.com"}, timeout=30)
    assert again.status_code == 400 and again.json()["message"] == "Promo code has already been claimed"
    looked_up = hubby_api.client.get(f"/promo-codes/{code['promo_code']}").json()["data"]
    assert looked_up["claimed_at"] is not None and looked_up["redeemed_at"] is None
    bad = httpx.post(f"{hubby_api.base_url}/promo-codes/claim/{code['uuid']}", json={"email": "nope"}, timeout=30)
    assert bad.status_code == 400 and bad.json()["errors"] == [{"field": "email", "message": "email must be a valid email"}]


def test_every_schema_violation_at_once(hubby_api: Any) -> None:
    body = {
        "booking_id": "ab", "phone": "0612345678", "title": "sir", "gender": "X", "pax": 0,
        "flight_number": "KL-1775", "locale": "english",
        "package_specifications": [{"destination": "gr", "size": "5 GB", "package_type": "daily", "package_duration": 0}],
    }  # fmt: skip
    r = hubby_api.client.post("/bookings", json=body)
    assert r.status_code == 400
    errors = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert errors == {
        "departure_date": "departure_date is required",
        "booking_id": "booking_id length must be at least 3 characters long",
        "phone": "phone must match ^\\+[0-9]{1,3}[0-9]{1,14}$",
        "title": "title must match ^([Mm][Rr][Ss]?\\.|[Mm][Ss]\\.|[Mm][Ii][Ss][Ss]|[Dd][Rr]\\.|[Pp][Rr][Oo][Ff]\\.)$",
        "gender": errors["gender"],
        "pax": "pax must be greater than or equal to 1",
        "flight_number": "flight_number must match ^[A-Za-z0-9]{1,10}$",
        "locale": "locale must match ^[a-z]{2}(-[A-Z]{2})?$",
        "package_specifications.0.destination": errors["package_specifications.0.destination"],
        "package_specifications.0.size": "size must match ^[0-9]+(\\.[0-9]+)?(MB|GB)$",
        "package_specifications.0.package_type": errors["package_specifications.0.package_type"],
        "package_specifications.0.package_duration": "package_duration must be greater than or equal to 1",
    }
    assert errors["gender"].startswith("gender must be one of")
    assert r.json()["message"].startswith("Validation failed: ")


def test_email_or_booking_id_is_required(hubby_api: Any) -> None:
    r = hubby_api.client.post("/bookings", json=booking_body(booking_id=None))
    assert r.status_code == 400
    assert r.json()["errors"] == [{"message": "at least one of email or booking_id is required"}]
    assert hubby_api.client.post("/bookings", json=booking_body(package_specifications=[])).status_code == 400


def test_domain_rules_all_at_once(hubby_api: Any) -> None:
    body = booking_body(
        departure_date="2030-07-15",
        return_date="2030-07-01",
        package_specifications=[
            {"destination": ["FR", "XX"]},
            {"destination": "GR", "package_type": "starter", "package_duration": 5},
            {"package_type": "time-limited", "package_duration": 45},
            {"package_id": "pkg_nope"},
        ],
    )
    r = hubby_api.client.post("/bookings", json=body)
    assert r.status_code == 400
    assert r.json()["errors"] == [
        {"field": "return_date", "message": "return_date must be on or after departure_date"},
        {"field": "package_specifications.0.destination.1", "message": "destination XX is not a known country (ISO2/ISO3) or region code"},
        {"field": "package_specifications.1.package_duration", "message": "package_duration of a starter package must be 1 to 3 days"},
        {"field": "package_specifications.2.package_duration", "message": "package_duration of a time-limited package must be 1 to 30 days"},
        {"field": "package_specifications.3.package_id", "message": "Package not found: pkg_nope"},
    ]


def test_unknown_packages_are_404_with_every_miss(hubby_api: Any) -> None:
    body = booking_body(package_specifications=[{"package_id": "pkg_nope"}, {"destination": "GR", "size": "7GB"}])
    r = hubby_api.client.post("/bookings", json=body)
    assert r.status_code == 404
    assert r.json()["errors"] == [
        {"field": "package_specifications.0.package_id", "message": "Package not found: pkg_nope"},
        {"field": "package_specifications.1.destination",
         "message": "No data-limited package of 7GB covers Greece; data-limited packages there: 1GB/365d, 3GB/365d, 5GB/365d, 10GB/365d, 20GB/365d"},
    ]  # fmt: skip
    assert hubby_api.client.get("/bookings", params={"bookingId": "TEST-001"}).json()["meta"]["total"] == 0


def test_unknown_fields_are_dropped(hubby_api: Any) -> None:
    b = create(hubby_api.client, favourite_colour="blue", package_specifications=[{"destination": "GR", "colour": "red"}])
    assert "favourite_colour" not in b
    assert b["package_specifications"] == [{"destination": "GR"}]


def test_an_active_booking_id_cannot_be_reused(hubby_api: Any) -> None:
    first = create(hubby_api.client)
    r = hubby_api.client.post("/bookings", json=booking_body())
    assert r.status_code == 400
    assert first["id"] in r.json()["errors"][0]["message"]
    hubby_api.client.delete(f"/bookings/{first['id']}")
    assert hubby_api.client.post("/bookings", json=booking_body()).status_code == 200


def test_list_get_and_pagination(hubby_api: Any) -> None:
    ids = [create(hubby_api.client, booking_id=f"PAGE-{n}")["id"] for n in range(3)]
    listed = hubby_api.client.get("/bookings", params={"perPage": 2, "page": 1}).json()
    assert listed["meta"] == {"page": 1, "perPage": 2, "total": 9}  # 6 demo bookings of this partner + 3
    assert [b["id"] for b in listed["data"]] == [ids[2], ids[1]]
    past_end = hubby_api.client.get("/bookings", params={"perPage": 50, "page": 2}).json()
    assert past_end["data"] == [] and past_end["meta"]["total"] == 9
    assert hubby_api.client.get(f"/bookings/{ids[0]}").json()["data"]["booking_id"] == "PAGE-0"
    filtered = hubby_api.client.get("/bookings", params={"bookingId": "PAGE-1"}).json()
    assert [b["id"] for b in filtered["data"]] == [ids[1]]
    r = hubby_api.client.get("/bookings", params={"perPage": 0})
    assert r.status_code == 400 and r.json()["errors"] == [{"field": "perPage", "message": "perPage must be greater than or equal to 1"}]


def test_partners_see_only_their_own_bookings(hubby_api: Any, new_partner: Any) -> None:
    mine = create(hubby_api.client, booking_id="SHARED-REF")
    other = new_partner("Other Travel")
    theirs = create(other.client, booking_id="SHARED-REF")  # the same reference is fine across partners
    assert other.client.get("/bookings").json()["meta"]["total"] == 1
    for path in (f"/bookings/{mine['id']}", f"/promo-codes/{mine['promo_codes'][0]['promo_code']}"):
        r = other.client.get(path)
        assert r.status_code == 404, path
    assert other.client.delete(f"/bookings/{mine['id']}").status_code == 404
    assert hubby_api.client.delete(f"/bookings/{theirs['id']}").status_code == 404
    assert hubby_api.client.delete("/bookings/SHARED-REF/byExternalBookingId").json()["data"]["id"] == mine["id"]
    assert other.client.get(f"/bookings/{theirs['id']}").json()["data"]["status"] == "CONFIRMED"


def test_cancel_by_id_and_by_external_id(hubby_api: Any) -> None:
    a = create(hubby_api.client, booking_id="CXL-A")
    r = hubby_api.client.delete(f"/bookings/{a['id']}")
    assert r.status_code == 200
    assert r.json()["data"]["status"] == "CANCELLED"
    assert r.json()["data"]["package_queues"][0]["status"] == "declined"
    again = hubby_api.client.delete(f"/bookings/{a['id']}")
    assert again.status_code == 400
    assert again.json()["message"] == "Booking cannot be cancelled: it is already cancelled"
    create(hubby_api.client, booking_id="CXL-B")
    assert hubby_api.client.delete("/bookings/CXL-B/byExternalBookingId").json()["data"]["status"] == "CANCELLED"
    assert hubby_api.client.delete("/bookings/NO-SUCH/byExternalBookingId").status_code == 404


def test_cannot_cancel_once_hubby_sent_the_codes(hubby_api: Any) -> None:
    b = create(hubby_api.client, email="t@example.com", communication_options=None)  # Hubby emails the codes
    r = hubby_api.client.delete(f"/bookings/{b['id']}")
    assert r.status_code == 400
    assert r.json()["message"] == "Booking cannot be cancelled: its promo codes have already been sent to the traveler"


def test_cannot_cancel_once_claimed_or_redeemed(hubby_api: Any, mockserver: MockServer) -> None:
    claimed = create(hubby_api.client, booking_id="CLAIMED")
    httpx.post(f"{hubby_api.base_url}/promo-codes/claim/{claimed['promo_codes'][0]['uuid']}", json={"email": "t@example.com"}, timeout=30)
    redeemed = create(hubby_api.client, booking_id="REDEEMED")
    simulate(mockserver, f"promo-codes/{redeemed['promo_codes'][0]['promo_code']}/redeem")
    for b in (claimed, redeemed):
        r = hubby_api.client.delete(f"/bookings/{b['id']}")
        assert r.status_code == 400
        assert r.json()["message"] == "Booking cannot be cancelled: a promo code has already been claimed or redeemed"


def test_cannot_cancel_after_departure(hubby_api: Any, mockserver: MockServer, mock_clock: Any) -> None:
    b = create(hubby_api.client, departure_date=_date_in(mockserver, days=1))
    mock_clock.advance(2 * 86400)
    r = hubby_api.client.delete(f"/bookings/{b['id']}")
    assert r.status_code == 400
    assert r.json()["message"] == "Booking cannot be cancelled: the departure date is in the past"


def test_update_booking(hubby_api: Any) -> None:
    b = create(hubby_api.client, first_name="Ada", last_name="Lovelace")
    r = hubby_api.client.put(f"/bookings/{b['id']}", json={"last_name": "Byron", "custom_branding": "brand_summer",
                                                            "package_specifications": [], "booking_id": "CHANGED"})  # fmt: skip
    assert r.status_code == 200
    data = r.json()["data"]
    assert (data["full_name"], data["custom_branding"], data["booking_id"]) == ("Ada Byron", "brand_summer", "TEST-001")
    assert len(data["package_specifications"]) == 1
    bad = hubby_api.client.put(f"/bookings/{b['id']}", json={"return_date": "2020-01-01"})
    assert bad.status_code == 400
    assert bad.json()["errors"] == [{"field": "return_date", "message": "return_date must be on or after departure_date"}]
    hubby_api.client.delete(f"/bookings/{b['id']}")
    assert hubby_api.client.put(f"/bookings/{b['id']}", json={"locale": "nl"}).status_code == 400


def test_catalogue_and_countries(hubby_api: Any) -> None:
    countries = hubby_api.client.get("/countries").json()["data"]
    assert len(countries) >= 90 and countries == sorted(countries, key=lambda c: c["name"])
    packages = hubby_api.client.get("/packages").json()["data"]
    assert {p["package_type"] for p in packages} == {"starter", "data-limited", "unlimited", "time-limited"}
    eu = hubby_api.client.get("/packages", params={"destination": "EU", "package_type": "data-limited"}).json()["data"]
    assert eu and all(p["destination"] == "EU" and p["iso3"] is None and len(p["destinations"]) == 32 for p in eu)
    fr = hubby_api.client.get("/packages", params={"destination": "FRA"}).json()["data"]
    assert {p["destination"] for p in fr} == {"FR", "EU"}  # a country also matches its region's packages
    one = hubby_api.client.get("/packages/pkg_gr_1gb_365").json()["data"]
    assert (one["data_bytes"], one["duration_days"], one["price"]["currency"]) == (1024**3, 365, "EUR")
    assert hubby_api.client.get("/packages", params={"destination": "XX"}).json()["data"] == []


def test_the_catalogue_follows_the_seed(mockserver: MockServer) -> None:
    from mockserver.apis.hubby import catalog

    assert catalog.generate(1) == catalog.generate(1)
    prices_1 = {p["id"]: p["price"]["amount"] for p in catalog.generate(1)[1]}
    prices_2 = {p["id"]: p["price"]["amount"] for p in catalog.generate(2)[1]}
    assert prices_1 != prices_2
    assert all(pid in prices_2 for pid in ("pkg_gr_1gb_365", "pkg_eu_10gb_365", "pkg_jp_unlimited_7"))


@pytest.mark.parametrize(
    "path",
    ["/bookings/bk_nope", "/packages/pkg_nope", "/promo-codes/NOPE", "/esims/8931070000000000000"],
)
def test_unknown_ids_are_404(hubby_api: Any, path: str) -> None:
    r = hubby_api.client.get(path)
    assert r.status_code == 404
    assert r.json()["success"] is False and "not found" in r.json()["message"]


def test_unknown_route_and_method(hubby_api: Any) -> None:
    assert hubby_api.client.get("/nope").status_code == 404
    r = hubby_api.client.patch("/bookings")
    assert r.status_code == 405 and "GET" in r.headers["Allow"]


def test_malformed_json(hubby_api: Any) -> None:
    r = hubby_api.client.post("/bookings", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert "not valid JSON" in r.json()["message"]


def _date_in(server: MockServer, days: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(server.runtime.clock.now() + days * 86400, UTC).date().isoformat()
