"""Hubby API 2.0 handlers, by operationId: HTTP in and out only, the rules live in models."""

from __future__ import annotations

from typing import Any

from ...kernel.api import Call, Reply
from ...kernel.errors import NotFound
from .models.traveler import compatibility


def _ok(data: Any, message: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"success": True, "data": data}
    if message:
        body["message"] = message
    return body


def create_booking(call: Call) -> dict:
    booking = call.model.create_booking(call.principal, call.body)
    return _ok([call.model.booking_view(booking)], "Booking created successfully")


def list_bookings(call: Call) -> Reply:
    page, per_page = call.param("page", 1), call.param("perPage", 20)
    body, encoded, stands_for = call.model.bookings_answer(call.principal, page, per_page, call.param("bookingId"))
    return Reply(body, encoded=encoded, check_key=stands_for)


def get_booking(call: Call) -> dict:
    return _ok(call.model.booking_view(call.model.booking_for(call.principal, call.param("id"))))


def update_booking(call: Call) -> dict:
    booking = call.model.booking_for(call.principal, call.param("id"))
    return _ok(call.model.booking_view(call.model.update_booking(booking, call.body)), "Booking updated successfully")


def delete_booking(call: Call) -> dict:
    booking = call.model.booking_for(call.principal, call.param("id"))
    return _ok(call.model.booking_view(call.model.cancel_booking(booking)), "Booking cancelled successfully")


def delete_booking_by_external_id(call: Call) -> dict:
    external_id = call.param("id")
    booking = call.model.find_booking_by_external_id(call.principal, external_id)
    if booking is None:
        raise NotFound(f"Booking not found: no booking has booking_id {external_id}")
    return _ok(call.model.booking_view(call.model.cancel_booking(booking)), "Booking cancelled successfully")


def list_packages(call: Call) -> dict:
    return _ok(call.model.catalog.filter(call.param("destination"), call.param("package_type")))


def get_package(call: Call) -> dict:
    package = call.model.catalog.by_id.get(call.param("id"))
    if package is None:
        raise NotFound(f"Package not found: {call.param('id')}")
    return _ok(package)


def list_countries(call: Call) -> dict:
    return _ok(call.model.catalog.countries)


def claim_promo_code(call: Call) -> dict:
    call.model.claim_promo_code(call.param("uuid"), call.body["email"])
    return {"success": True, "message": "Promo code claimed and email sent successfully", "data": {}}


def get_promo_code(call: Call) -> dict:
    return _ok(call.model.promo_view(call.model.promo_code_for(call.principal, call.param("code"))))


def get_esim(call: Call) -> dict:
    return _ok(call.model.esim_view(call.model.esim(call.param("iccid"), call.principal)))


def top_up_esim(call: Call) -> dict:
    return _ok(call.model.esim_view(call.model.top_up(call.principal, call.body)), "Top-up added successfully")


def create_redirect_token(call: Call) -> dict:
    body = call.body
    return _ok(call.model.create_redirect_token(call.principal, body["external_user_id"], body.get("email")))


def exchange_redirect_token(call: Call) -> dict:
    body = call.body  # the reference says redirect_token, the types repo token: take either
    return _ok(call.model.exchange_redirect_token(body.get("redirect_token") or body["token"]))


def get_webapp_dashboard(call: Call) -> dict:
    session = call.principal
    return _ok(call.model.dashboard(session["partner"], session["external_user_id"], must_exist=False))


def get_native_user_dashboard(call: Call) -> dict:
    return _ok(call.model.dashboard(call.principal, call.param("external_user_id")))


def get_native_instructions(call: Call) -> dict:
    return _ok(call.model.instructions(call.principal, call.body))


def redeem_native_package(call: Call) -> dict:
    body = call.body
    result = call.model.redeem_queue(call.principal, body["external_user_id"], body["package_queue_id"])
    return _ok(result, "Package redeemed successfully")


def check_device_compatibility(call: Call) -> dict:
    return _ok(compatibility(call.body))


def check_device_compatibility_query(call: Call) -> dict:
    return _ok(compatibility(call.query))


HANDLERS = {
    "createBooking": create_booking,
    "listBookings": list_bookings,
    "getBooking": get_booking,
    "updateBooking": update_booking,
    "deleteBooking": delete_booking,
    "deleteBookingByExternalId": delete_booking_by_external_id,
    "listPackages": list_packages,
    "getPackage": get_package,
    "listCountries": list_countries,
    "claimPromoCode": claim_promo_code,
    "getPromoCode": get_promo_code,
    "getEsim": get_esim,
    "topUpEsim": top_up_esim,
    "createRedirectToken": create_redirect_token,
    "exchangeRedirectToken": exchange_redirect_token,
    "getWebappDashboard": get_webapp_dashboard,
    "getNativeUserDashboard": get_native_user_dashboard,
    "getNativeInstructions": get_native_instructions,
    "redeemNativePackage": redeem_native_package,
    "checkDeviceCompatibility": check_device_compatibility,
    "checkDeviceCompatibilityQuery": check_device_compatibility_query,
}
