"""What the dashboard hides by default: credentials in headers and secret-named fields."""

from __future__ import annotations

from mockserver.control.masking import mask_entry, mask_fields, mask_headers, mask_message, placeholder


def test_a_placeholder_keeps_the_scheme_and_the_length_only():
    assert placeholder("Bearer abc.def") == "Bearer •••• (7 chars hidden)"
    assert placeholder("s3cret") == "•••• (6 chars hidden)"
    assert placeholder("Digest x") == "•••• (8 chars hidden)"  # an unknown scheme is hidden with the rest


def test_credential_headers_are_masked_whatever_their_case_and_others_are_not():
    headers = {
        "Authorization": "Bearer t0ken", "x-api-key": "k", "X-Signature": "abc", "Cookie": "a=b",
        "X-Hubble-Token": "tok", "X-Webhook-Secret": "sec", "Content-Type": "application/json", "X-Timestamp": "1",
    }  # fmt: skip
    masked = mask_headers(headers)
    assert masked is not None
    for name in ("Authorization", "x-api-key", "X-Signature", "Cookie", "X-Hubble-Token", "X-Webhook-Secret"):
        assert "hidden" in masked[name] and headers[name] not in masked[name].replace("Bearer ", "", 1)
    assert masked["Content-Type"] == "application/json" and masked["X-Timestamp"] == "1"
    assert mask_headers({"Authorization": ""}) == {"Authorization": ""}  # nothing to hide


def test_secret_named_fields_are_masked_at_any_depth_but_ids_times_and_counts_are_not():
    row = {
        "key_id": "k1", "key": "base64key==", "token_sha256": "ab" * 32, "secret": "whsec",
        "expires_at": 5, "webhook": {"secret": "inner", "url": "http://x"}, "items": [{"api_key": "p"}],
        "headers": {"Authorization": "Bearer z"}, "token_count": "3", "name": "keep",
    }  # fmt: skip
    masked = mask_fields(row)
    assert masked["key_id"] == "k1" and masked["expires_at"] == 5 and masked["token_count"] == "3" and masked["name"] == "keep"
    for value in (masked["key"], masked["token_sha256"], masked["secret"], masked["webhook"]["secret"], masked["items"][0]["api_key"]):
        assert "hidden" in value
    assert masked["headers"]["Authorization"].startswith("Bearer ••••")
    assert row["secret"] == "whsec"  # a copy: the state itself is untouched


def test_a_journal_entry_and_a_message_are_masked_as_copies():
    entry = {
        "request": {"headers": {"x-signature": "deadbeef"}, "body": "{}"},
        "response": {"headers": {"X-RateLimit-Limit": "3"}},
        "debug": {"expected_string_to_sign": ["1GET/x"], "signature_received": "deadbeef"},
    }
    masked = mask_entry(entry)
    assert "deadbeef" not in str(masked)
    assert masked["debug"]["expected_string_to_sign"] == ["1GET/x"] and masked["response"]["headers"] == {"X-RateLimit-Limit": "3"}
    assert entry["request"]["headers"]["x-signature"] == "deadbeef"
    message = mask_message({"headers": {"x-api-key": "k"}, "meta": {"secret": "s"}, "body": {"token": "in the payload"}})
    assert message["headers"]["x-api-key"] != "k" and message["meta"]["secret"] != "s"
    assert message["body"] == {"token": "in the payload"}  # the payload is what the receiver gets: shown as sent
