"""A Hubby booking made with the fixture's signing client."""


def test_a_booking_is_created_and_can_be_read_back(hubby_api):
    created = hubby_api.create_booking(booking_id="TRIP-42", first_name="Grace", last_name="Hopper")
    booking = created["data"][0]
    assert booking["booking_id"] == "TRIP-42"

    again = hubby_api.client.get(f"/bookings/{booking['id']}")
    assert again.status_code == 200
    assert again.json()["data"]["full_name"] == "Grace Hopper"


def test_an_unsigned_request_is_refused(hubby_api):
    import httpx

    assert httpx.get(f"{hubby_api.base_url}/packages").status_code == 401
