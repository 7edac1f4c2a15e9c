"""Schemathesis hooks of scripts/api-fuzz.sh.

The document marks phone numbers `format: phone`: a number that is valid in
its country's numbering plan (libphonenumber's rules), which no regular
expression says. This teaches the fuzzer to write such numbers, in the
spellings the service accepts (spaces, dashes, a leading 00).
"""

import schemathesis
from hypothesis import strategies as st
from hypothesis.internal import lambda_sources

# CPython 3.11's parser can raise `SystemError: AST constructor recursion
# depth mismatch` when hypothesis parses a large source file deep in the
# stack, only to name a filter in a strategy's repr. A name is not worth a
# failed run: such a lambda is named by its plain repr instead.
_describe = lambda_sources.lambda_description


def _safe_description(f):
    try:
        return _describe(f)
    except SystemError:
        return repr(f)


lambda_sources.lambda_description = _safe_description

# Slovak mobile numbers (+421 90x xxx xxx) and German ones (+49 151 xxxxxxxx).
_slovak = st.tuples(st.sampled_from("0123456"), st.text("0123456789", min_size=6, max_size=6)).map(
    lambda parts: f"+421 90{parts[0]} {parts[1][:3]} {parts[1][3:]}"
)
_german = st.text("0123456789", min_size=8, max_size=8).map(lambda digits: f"+49151{digits}")
_spelled = st.one_of(_slovak, _german).flatmap(
    lambda number: st.sampled_from([number, number.replace(" ", ""), "00" + number[1:], number.replace(" ", "-")])
)

schemathesis.openapi.format("phone", _spelled)


# Rules between two fields of one body, which JSON Schema cannot state.
# Each is written in the field descriptions of the document and enforced by
# the service with a 422; the fuzzer keeps to them so that every other
# schema-valid body must be accepted.


def _tolerant(rule):
    """A rule about well-typed bodies: a body of other types (a negative
    case) passes through untouched."""
    import functools

    @functools.wraps(rule)
    def checked(ctx, body):
        try:
            return rule(ctx, body)
        except (TypeError, AttributeError, ValueError):
            return body if rule.__name__.startswith("integration") else True

    return checked


def _given(body, key):
    return isinstance(body, dict) and body.get(key) is not None


@schemathesis.hook("filter_body").apply_to(method="PUT", path="/api/v1/bookings/{external_ref}")
@_tolerant
def booking_stay_is_one_ordered_form(ctx, body):
    """Either check_in_at/check_out_at or check_in/check_out, the end after the start."""
    if not isinstance(body, dict):
        return True
    instants = [_given(body, k) for k in ("check_in_at", "check_out_at")]
    dates = [_given(body, k) for k in ("check_in", "check_out")]
    if all(instants) and not any(dates):
        return _instant(body["check_out_at"]) > _instant(body["check_in_at"])
    if all(dates) and not any(instants):
        return body["check_out"] > body["check_in"]
    return False


def _instant(text):
    from datetime import datetime

    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None


@schemathesis.hook("filter_body").apply_to(method="POST", path="/api/v1/locks/{id}/codes")
@_tolerant
def manual_code_window_is_ordered(ctx, body):
    """valid_until after valid_from."""
    if _given(body, "valid_from") and _given(body, "valid_until"):
        start, end = _instant(body["valid_from"]), _instant(body["valid_until"])
        return start is not None and end is not None and end > start
    return True


@schemathesis.hook("filter_body").apply_to(method="POST", path="/api/v1/staff")
@_tolerant
def staff_has_one_role_form_and_a_contact(ctx, body):
    """role (with property_ids) or roles, not both; a phone or a Telegram id."""
    if not isinstance(body, dict):
        return True
    one_form = _given(body, "role") != _given(body, "roles")
    reachable = bool(str(body.get("phone") or "").strip()) or _given(body, "telegram_user_id")
    return one_form and reachable


@schemathesis.hook("filter_body").apply_to(method="PATCH", path="/api/v1/staff/{id}")
@_tolerant
def staff_patch_changes_something(ctx, body):
    """active: false, role or roles (not both)."""
    if not isinstance(body, dict):
        return True
    if _given(body, "role") and _given(body, "roles"):
        return False
    return body.get("active") is False or _given(body, "role") or _given(body, "roles")


@schemathesis.hook("filter_body").apply_to(method="POST", path="/api/v1/locks")
@_tolerant
def lock_settings_agree(ctx, body):
    """A device id for real locks; 6+ characters on an entrance; backups below the capacity."""
    if not isinstance(body, dict):
        return True
    if body.get("provider") != "simulated" and not str(body.get("provider_device_id") or "").strip():
        return False
    length = body.get("code_length") if _given(body, "code_length") else 6
    if not _given(body, "room_id") and length < 6:
        return False
    return _backups_below_capacity(body, 100)


@schemathesis.hook("filter_body").apply_to(method="PATCH", path="/api/v1/locks/{id}")
@_tolerant
def lock_patch_backups_below_capacity(ctx, body):
    """Backups below the capacity, when the body gives both."""
    return not isinstance(body, dict) or not _given(body, "capacity") or _backups_below_capacity(body, 100)


def _backups_below_capacity(body, default_capacity):
    capacity = body.get("capacity") if _given(body, "capacity") else default_capacity
    backups = body.get("backup_codes") if _given(body, "backup_codes") else 0
    return backups < capacity


_CREDENTIALS = {
    "smoobu": [("api_key",)],
    "beds24": [("token",), ("refresh_token",)],
    "hostaway": [("account_id", "api_key")],
}


@schemathesis.hook("map_body").apply_to(method="POST", path="/api/v1/integrations")
@_tolerant
def integration_credentials_fit_the_kind(ctx, body):
    """Gives the credentials the fields the kind needs (see the field's description); a
    random object would almost never have them."""
    if not isinstance(body, dict) or not isinstance(body.get("credentials"), dict):
        return body
    credentials = body["credentials"]
    for key in _CREDENTIALS.get(body.get("kind"), [()])[0]:
        value = credentials.get(key)
        if not (isinstance(value, str) and value.strip()):
            credentials[key] = "fuzz-" + key
    return body


@schemathesis.hook("filter_body").apply_to(method="POST", path="/api/v1/locks/{id}/codes")
@_tolerant
def manual_code_names_what_its_kind_needs(ctx, body):
    """A guest code names its booking, a staff code its staff member, a standalone code its end."""
    if not isinstance(body, dict):
        return True
    needs = {"guest": "booking_ref", "staff": "staff_id", "standalone": "valid_until"}.get(body.get("kind"))
    return needs is None or _given(body, needs)
