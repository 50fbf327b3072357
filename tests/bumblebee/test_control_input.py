"""Reports with input the simulation cannot turn into a webhook body are a 400 naming the
field, never a 500: an empty `data_types`, times outside 1970..9998, numbers out of range."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.mark.parametrize("path", ["/bumblebee/nodes/Ref001/report", "/bumblebee/sigfox/ABC/report"])
def test_an_empty_data_types_list_sends_only_the_message_info(bumblebee: Any, control: Any, path: str) -> None:
    r = control.post(path, json={"data_types": []})
    assert r.status_code == 201, r.text
    assert [e["data_type"] for e in r.json()["events"]] == ["sigfox_message_info/create"]


@pytest.mark.parametrize("field", ["sent_at", "recorded_at"])
@pytest.mark.parametrize("value", [-1e308, 1e308, -1, "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", 253402300800])
def test_a_time_no_webhook_body_can_show_is_a_400(bumblebee: Any, control: Any, field: str, value: Any) -> None:
    r = control.post("/bumblebee/sigfox/ABC/report", json={field: value})
    assert r.status_code == 400, r.text
    assert r.json()["details"] == [{"field": field, "message": f"{field} must be between 1970-01-01 and 9998-12-31"}]


def test_the_edges_of_the_time_range_are_accepted(bumblebee: Any, control: Any) -> None:
    for value in (0, "1970-01-01T00:00:00Z", "9998-12-31T00:00:00Z"):
        r = control.post("/bumblebee/nodes/Ref001/report", json={"sent_at": value, "data_type": "temperature/create"})
        assert r.status_code == 201, (value, r.text)


def test_a_number_beyond_the_float_range_is_a_400(bumblebee: Any, control: Any) -> None:
    r = control.post("/bumblebee/sigfox/ABC/report", content=b'{"rssi": 1' + b"0" * 400 + b"}",
                     headers={"content-type": "application/json"})
    assert r.status_code == 400 and "out of range" in r.json()["error"], r.text
