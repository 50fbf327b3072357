"""eSIMs and the traveler side: redemption, ICCID and LPA data, install/remove, activation,
data use, top-ups, the WebView token exchange on a frozen clock, dashboards and the native
endpoints."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest
from hubby_helpers import create, simulate

from mockserver.apis.hubby.models.esims import luhn_valid
from mockserver.testing import MockServer


def redeem(server: MockServer, code: str, **body: Any) -> dict[str, Any]:
    return simulate(server, f"promo-codes/{code}/redeem", body)


@pytest.fixture
def traveling(hubby_api: Any, mockserver: MockServer) -> dict[str, Any]:
    """A booking whose code is redeemed, with the eSIM installed and the package active."""
    b = create(hubby_api.client)
    out = redeem(mockserver, b["promo_codes"][0]["promo_code"])
    iccid = out["esim"]["iccid"]
    simulate(mockserver, f"esims/{iccid}/install")
    simulate(mockserver, f"esims/{iccid}/activate")
    return {"booking": b, "iccid": iccid}


def test_redeeming_creates_an_esim_with_real_looking_credentials(hubby_api: Any, mockserver: MockServer) -> None:
    b = create(hubby_api.client)
    out = redeem(mockserver, b["promo_codes"][0]["promo_code"])
    esim = out["esim"]
    iccid = esim["iccid"]
    assert iccid.startswith("89") and 19 <= len(iccid) <= 20 and luhn_valid(iccid)
    assert esim["qr"].startswith("LPA:1$smdp.hubbyesim.example$")
    assert esim["status"] == "not_installed" and esim["external_user_id"] == "traveler_1"
    assert esim["packages"][0]["status"] == "queued" and esim["total_data"] == 1024**3
    assert out["promo_code"]["redeemed_at"] is not None
    booking = hubby_api.client.get(f"/bookings/{b['id']}").json()["data"]
    assert booking["esims"] == [iccid]
    assert booking["package_queues"][0]["status"] == "redeemed"
    assert hubby_api.client.get(f"/esims/{iccid}").json()["data"] == esim
    twice = mockserver.control.post(f"/hubby/promo-codes/{b['promo_codes'][0]['promo_code']}/redeem", json={})
    assert twice.status_code == 409 and "already redeemed" in twice.json()["error"]


def test_universal_esim_collects_a_travelers_packages(hubby_api: Any, mockserver: MockServer) -> None:
    b = create(hubby_api.client, package_specifications=[
        {"destination": "GR", "external_user_id": "u9"}, {"destination": "TR", "external_user_id": "u9"}])  # fmt: skip
    first = redeem(mockserver, b["promo_codes"][0]["promo_code"])["esim"]["iccid"]
    second = redeem(mockserver, b["promo_codes"][1]["promo_code"])["esim"]
    assert second["iccid"] == first and [p["package_id"] for p in second["packages"]] == ["pkg_gr_1gb_365", "pkg_tr_1gb_365"]


def test_classic_codes_get_one_esim_each(hubby_api: Any, mockserver: MockServer) -> None:
    b = create(hubby_api.client, package_specifications=[{"destination": "GR"}, {"destination": "TR"}])
    a = redeem(mockserver, b["promo_codes"][0]["promo_code"])["esim"]["iccid"]
    c = redeem(mockserver, b["promo_codes"][1]["promo_code"])["esim"]["iccid"]
    assert a != c


def test_destinationless_code_takes_its_destination_at_redemption(hubby_api: Any, mockserver: MockServer) -> None:
    b = create(hubby_api.client, package_specifications=[{"package_type": "starter"}])
    code = b["promo_codes"][0]["promo_code"]
    r = mockserver.control.post(f"/hubby/promo-codes/{code}/redeem", json={})
    assert r.status_code == 409 and "picks one when redeeming" in r.json()["error"]
    out = redeem(mockserver, code, destination="JP")
    assert out["promo_code"]["package_id"] == "pkg_jp_starter_500mb_2" and out["promo_code"]["iso3"] == "JPN"


def test_install_remove_and_install_again(hubby_api: Any, mockserver: MockServer) -> None:
    b = create(hubby_api.client)
    iccid = redeem(mockserver, b["promo_codes"][0]["promo_code"])["esim"]["iccid"]
    r = mockserver.control.post(f"/hubby/esims/{iccid}/activate", json={})
    assert r.status_code == 409 and "install it before" in r.json()["error"]
    assert simulate(mockserver, f"esims/{iccid}/install")["esim"]["status"] == "installed"
    assert simulate(mockserver, f"esims/{iccid}/remove")["esim"]["status"] == "removed"
    assert simulate(mockserver, f"esims/{iccid}/install")["esim"]["status"] == "installed"
    assert mockserver.control.post("/hubby/esims/8931070000000000000/install", json={}).status_code == 404


def test_data_use_and_depletion(traveling: dict[str, Any], mockserver: MockServer, hubby_api: Any) -> None:
    iccid = traveling["iccid"]
    esim = simulate(mockserver, f"esims/{iccid}/consume", {"percent": 25})["esim"]
    quarter = 1024**3 // 4
    assert (esim["data_used"], esim["data_left"]) == (quarter, 1024**3 - quarter)
    esim = simulate(mockserver, f"esims/{iccid}/consume", {"bytes": 2 * 1024**3})["esim"]  # more than is left
    package = esim["packages"][0]
    assert (package["status"], package["used_bytes"], package["remaining_bytes"]) == ("depleted", 1024**3, 0)
    r = mockserver.control.post(f"/hubby/esims/{iccid}/consume", json={"bytes": 1})
    assert r.status_code == 409 and "no active package" in r.json()["error"]
    bad = mockserver.control.post(f"/hubby/esims/{iccid}/consume", json={"bytes": 1, "percent": 2})
    assert bad.status_code == 400


def test_top_up_is_always_data_limited(traveling: dict[str, Any], hubby_api: Any, mockserver: MockServer) -> None:
    iccid = traveling["iccid"]
    r = hubby_api.client.post("/esims/topup", json={"iccid": iccid, "package_id": "pkg_gr_unlimited_7"})
    assert r.status_code == 400
    assert r.json()["errors"] == [{"field": "package_id", "message": "top-ups are always data-limited; pkg_gr_unlimited_7 is unlimited"}]
    r = hubby_api.client.post("/esims/topup", json={"iccid": iccid, "package_specification": {"package_type": "starter"}})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "package_specification.package_type"
    r = hubby_api.client.post("/esims/topup", json={"iccid": iccid, "package_specification": {"size": "5GB"}})
    assert r.status_code == 200, r.text
    packages = r.json()["data"]["packages"]
    assert [(p["package_id"], p["status"]) for p in packages] == [("pkg_gr_1gb_365", "active"), ("pkg_gr_5gb_365", "queued")]
    # the active package runs out: the queued top-up takes over
    esim = simulate(mockserver, f"esims/{iccid}/consume", {"percent": 100})["esim"]
    assert [p["status"] for p in esim["packages"]] == ["depleted", "active"]
    assert hubby_api.client.post("/esims/topup", json={"iccid": "8931070000000000000", "package_id": "pkg_gr_1gb_365"}).status_code == 404
    assert hubby_api.client.post("/esims/topup", json={"iccid": iccid}).status_code == 400


def test_another_partner_cannot_see_the_esim(traveling: dict[str, Any], new_partner: Any) -> None:
    other = new_partner("Other Travel")
    assert other.client.get(f"/esims/{traveling['iccid']}").status_code == 404
    assert other.client.post("/esims/topup", json={"iccid": traveling["iccid"], "package_id": "pkg_gr_1gb_365"}).status_code == 404


def test_package_expires_on_the_clock(hubby_api: Any, mockserver: MockServer, mock_clock: Any) -> None:
    b = create(hubby_api.client, package_specifications=[{"destination": "GR", "package_type": "unlimited", "package_duration": 3}])
    iccid = redeem(mockserver, b["promo_codes"][0]["promo_code"])["esim"]["iccid"]
    simulate(mockserver, f"esims/{iccid}/install")
    simulate(mockserver, f"esims/{iccid}/activate")
    mock_clock.advance(3 * 86400 - 1)
    assert hubby_api.client.get(f"/esims/{iccid}").json()["data"]["packages"][0]["status"] == "active"
    mock_clock.advance(1)
    package = hubby_api.client.get(f"/esims/{iccid}").json()["data"]["packages"][0]
    assert package["status"] == "expired" and package["total_bytes"] is None


def test_redirect_token_exchange_and_dashboard(hubby_api: Any, mockserver: MockServer, mock_clock: Any) -> None:
    create(hubby_api.client, email="ada@example.com", locale="en-GB")
    r = hubby_api.client.post("/redirect-tokens/create", json={"external_user_id": "traveler_1"})
    assert r.status_code == 200
    token = r.json()["data"]
    assert token["redirect_url"].endswith(f"?token={token['token']}")
    mock_clock.advance(299)
    session = httpx.post(f"{hubby_api.base_url}/webapp/auth/exchange", json={"token": token["token"]}, timeout=30)
    assert session.status_code == 200, session.text
    data = session.json()["data"]
    assert data["token_type"] == "Bearer" and data["external_user_id"] == "traveler_1"
    claims = jwt.decode(data["token"], options={"verify_signature": False})
    assert claims["sub"] == "traveler_1" and claims["partner"] == "partner_sandbox"
    again = httpx.post(f"{hubby_api.base_url}/webapp/auth/exchange", json={"token": token["token"]}, timeout=30)
    assert again.status_code == 401 and "already exchanged" in again.json()["message"]
    dash = httpx.get(f"{hubby_api.base_url}/webapp/me/dashboard", headers={"Authorization": f"Bearer {data['token']}"}, timeout=30)
    assert dash.status_code == 200
    d = dash.json()["data"]
    assert d["user"]["external_user_id"] == "traveler_1" and d["user"]["email"] == "ada@example.com"
    assert d["partner"] == {"id": "partner_sandbox", "name": "Sandbox Partner"} and d["esim"] is None
    assert len(d["package_queues"]) == 1 and all(p["package_type"] == "data-limited" for p in d["packages"])
    mock_clock.advance(3601)
    late = httpx.get(f"{hubby_api.base_url}/webapp/me/dashboard", headers={"Authorization": f"Bearer {data['token']}"}, timeout=30)
    assert late.status_code == 401 and "the session expired" in late.json()["message"]


def test_redirect_token_expires_after_five_minutes(hubby_api: Any, mock_clock: Any) -> None:
    create(hubby_api.client)
    token = hubby_api.client.post("/redirect-tokens/create", json={"external_user_id": "traveler_1"}).json()["data"]["token"]
    mock_clock.advance(300)
    r = httpx.post(f"{hubby_api.base_url}/webapp/auth/exchange", json={"token": token}, timeout=30)
    assert r.status_code == 401
    assert r.json()["message"].startswith("Redirect token is invalid or expired: it expired at")
    unknown = hubby_api.client.post("/redirect-tokens/create", json={"external_user_id": "nobody"})
    assert unknown.status_code == 404


def test_native_endpoints(traveling: dict[str, Any], hubby_api: Any) -> None:
    dash = hubby_api.client.get("/native/user-dashboard", params={"external_user_id": "traveler_1"})
    assert dash.status_code == 200
    assert dash.json()["data"]["esim"]["iccid"] == traveling["iccid"]
    assert hubby_api.client.get("/native/user-dashboard", params={"external_user_id": "nobody"}).status_code == 404
    assert hubby_api.client.get("/native/user-dashboard").status_code == 400
    steps = hubby_api.client.post("/native/instructions", json={"external_user_id": "traveler_1", "platform": "ios"}).json()["data"]
    assert steps["iccid"] == traveling["iccid"] and steps["activation_code"].startswith("LPA:1$")
    assert steps["activation_code"] == f"LPA:1${steps['smdp_address']}${steps['matching_id']}"
    assert [s["step"] for s in steps["steps"]] == [1, 2, 3, 4]
    compat = hubby_api.client.post("/native/device-compatibility", json={"device_model": "iPhone 15", "platform": "ios"}).json()["data"]
    assert compat == {"compatible": True, "platform": "ios", "device_model": "iPhone 15", "reason": None}
    old = hubby_api.client.post("/native/device-compatibility", json={"device_model": "iPhone 8"}).json()["data"]
    assert old["compatible"] is False and old["reason"]


def test_native_redeem_package(hubby_api: Any) -> None:
    b = create(hubby_api.client)
    queue_id = b["package_queues"][0]["uuid"]
    assert hubby_api.client.post("/native/instructions", json={"external_user_id": "traveler_1"}).status_code == 404
    r = hubby_api.client.post("/native/redeem-package", json={"external_user_id": "traveler_1", "package_queue_id": queue_id})
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["package_queue"]["status"] == "redeemed" and data["esim"]["packages"][0]["package_id"] == "pkg_gr_1gb_365"
    again = hubby_api.client.post("/native/redeem-package", json={"external_user_id": "traveler_1", "package_queue_id": queue_id})
    assert again.status_code == 400 and "already redeemed" in again.json()["message"]
    wrong = hubby_api.client.post("/native/redeem-package", json={"external_user_id": "someone", "package_queue_id": queue_id})
    assert wrong.status_code == 404


def test_demo_scenario_bookings(hubby_api: Any) -> None:
    data = hubby_api.client.get("/bookings", params={"perPage": 50}).json()["data"]
    by_ref = {b["booking_id"]: b for b in data}
    assert set(by_ref) == {"DEMO-GR-001", "DEMO-FLEX-002", "DEMO-JP-003", "DEMO-TR-004", "DEMO-ANY-005", "DEMO-CXL-006"}
    assert by_ref["DEMO-FLEX-002"]["departure_date"].count("T") == 0
    assert by_ref["DEMO-CXL-006"]["status"] == "CANCELLED"
    active = hubby_api.client.get(f"/esims/{by_ref['DEMO-TR-004']['esims'][0]}").json()["data"]
    assert active["status"] == "installed" and active["packages"][0]["status"] == "active"
    assert active["data_used"] == -(-55 * 1024**3 // 100)
