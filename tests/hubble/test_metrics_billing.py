"""Metrics computed from the state, with the vendor's bucket rules, and billing (invoices,
a real PDF, usage)."""

from __future__ import annotations

import pytest
from hubble_helpers import assert_error, client_for

DAY = 86400


@pytest.fixture(scope="module")
def world(server):
    """At T0 (2025-10-09T08:53:20Z): a prod device `a` sends 3 packets, a sandbox device `s`
    one, a prod device `c` none; a day later `a` sends 2 more."""
    with client_for(server) as api:
        url = f"{server.hubble_url}/api/v2/org/{server.credentials()['hubble']['org_id']}/devices"
        a, c = (d["device_id"] for d in api.post(url, json={"encryption": "AES-256-CTR", "n_devices": 2}).json()["devices"])
        s = api.post(url, json={"encryption": "NONE", "tags": [{"_env": "sandbox"}]}).json()["devices"][0]["device_id"]
        server.simulate("hubble", "/packets", {"device_ids": [a], "count": 3, "spacing_seconds": 10})
        server.simulate("hubble", "/packets", {"device_ids": [s]})
        server.advance(DAY)
        server.simulate("hubble", "/packets", {"device_ids": [a], "count": 2})
        yield api, {"a": a, "c": c, "s": s}


def stamps(body):
    return [b["timestamp"] for b in body["buckets"]]


def test_bucket_rules(world):
    api, _ = world
    hourly = api.get("/packet_metrics").json()  # days=1 -> hours: 24 complete + the partial one
    assert len(hourly["buckets"]) == 25
    assert stamps(hourly)[0] == "2025-10-09T08:00:00Z" and stamps(hourly)[-1] == "2025-10-10T08:00:00Z"
    daily = api.get("/packet_metrics", params={"days": 7}).json()
    assert stamps(daily) == [f"2025-10-{d:02d}T00:00:00Z" for d in range(3, 11)]
    monthly = api.get("/packet_metrics", params={"days": 90}).json()  # widened to whole months
    assert stamps(monthly) == ["2025-07-01T00:00:00Z", "2025-08-01T00:00:00Z", "2025-09-01T00:00:00Z", "2025-10-01T00:00:00Z"]
    assert stamps(api.get("/packet_metrics", params={"days": 32}).json()) == ["2025-09-01T00:00:00Z", "2025-10-01T00:00:00Z"]
    assert len(api.get("/packet_metrics", params={"days": 15, "time_interval": "hour"}).json()["buckets"]) == 361
    assert len(api.get("/packet_metrics", params={"days": 365, "time_interval": "day"}).json()["buckets"]) == 366
    assert_error(api.get("/packet_metrics", params={"days": 16, "time_interval": "hour"}), 400, "buckets", "days <= 15")
    assert_error(api.get("/packet_metrics", params={"days": 0}), 400, "days")
    assert_error(api.get("/packet_metrics", params={"days": 366}), 400, "days")
    assert_error(api.get("/packet_metrics", params={"time_interval": "week"}), 400, "time_interval")
    # the SDK's spellings
    assert stamps(api.get("/packet_metrics", params={"daysBack": 7, "timeInterval": "day"}).json()) == stamps(daily)


def test_packet_metrics_count_the_stream(world):
    api, _ = world
    daily = api.get("/packet_metrics", params={"days": 7}).json()
    assert daily["total_packets"] == 6
    assert [b["total_packets"] for b in daily["buckets"]][-2:] == [4, 2]
    sandbox = api.get("/packet_metrics", params={"days": 7, "filter_tags": "_env:sandbox"}).json()
    assert sandbox["total_packets"] == 1


def test_device_metrics(world):
    api, _ = world
    body = api.get("/device_metrics", params={"days": 7}).json()
    assert (body["total_registered_devices"], body["total_active_devices"], body["total_never_active_devices"]) == (3, 2, 1)
    before, at_t0, today = body["buckets"][-3:]
    assert (before["registered_devices"], before["active_devices"], before["never_active_devices"]) == (0, 0, 0)
    assert (at_t0["registered_devices"], at_t0["active_devices"], at_t0["never_active_devices"]) == (3, 2, 1)
    assert (today["registered_devices"], today["active_devices"], today["never_active_devices"]) == (3, 1, 1)
    sandbox = api.get("/device_metrics", params={"daysBack": 7, "filter_tags": "_env:sandbox"}).json()
    assert (sandbox["total_registered_devices"], sandbox["total_active_devices"]) == (1, 1)


def test_api_metrics_count_requests_and_failures(server, world):
    api, _ = world
    before = api.get("/api_metrics").json()
    api.get("/devices/00000000-0000-4000-8000-000000000000")  # a 404
    api.get("/check")
    after = api.get("/api_metrics").json()
    assert after["total_requests"] == before["total_requests"] + 3
    assert 0 < after["success_rate"] < 1
    assert sum(b["total_requests"] for b in after["buckets"]) == after["total_requests"]


def test_webhook_metrics_are_zero_without_webhooks(world):
    api, _ = world
    body = api.get("/webhook_metrics", params={"days": 7}).json()
    assert body["total_requests"] == 0 and len(body["buckets"]) == 8


def test_billing_usage_counts_active_devices(world):
    api, ids = world
    usage = api.get("/billing/usage").json()["usage"]
    daily = [u for u in usage if u["usage_type"] == "Daily Active Devices"]
    monthly = [u for u in usage if u["usage_type"] == "Monthly Active Devices"]
    assert len(daily) == 31 and len(monthly) == 3
    assert [u["usage_value"] for u in daily[-2:]] == [2, 1]
    assert monthly[-1] == {"usage_timestamp": "2025-10-01T00:00:00Z", "usage_type": "Monthly Active Devices", "usage_value": 2}


def test_invoices_and_pdf(frozen, fapi):
    invoices = fapi.get("/billing/invoices").json()["invoices"]
    assert len(invoices) == 3
    assert invoices[0]["issue_timestamp"] > invoices[1]["issue_timestamp"]  # most recent first
    assert {i["status"] for i in invoices} == {"COMPLETED", "PENDING"}
    for invoice in invoices:
        pdf = fapi.get(f"/billing/invoices/{invoice['invoice_id']}/pdf")
        assert pdf.status_code == 200
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF") and pdf.content.rstrip().endswith(b"%%EOF")
    again = fapi.get(f"/billing/invoices/{invoices[0]['invoice_id']}/pdf").content
    assert again == fapi.get(f"/billing/invoices/{invoices[0]['invoice_id']}/pdf").content  # deterministic
    assert_error(fapi.get("/billing/invoices/INV-99999/pdf"), 404, "INV-99999")


def test_billing_and_metrics_scopes(frozen, fapi):
    key = fapi.post("/key", json={"scopes": ["read-billing-usage"]}).json()["key"]
    with client_for(frozen, token=key) as reader:
        assert reader.get("/billing/usage").status_code == 200
        assert_error(reader.get("/billing/invoices"), 403, "read-billing-invoices")
        assert_error(reader.get("/api_metrics"), 403, "read-platform-metrics")
