"""Webhook signatures interoperate with the reference Standard Webhooks implementation, both ways."""

from __future__ import annotations

import base64
import random
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from sirena.delivery import Backoff, SignatureError, new_secret, signing, verify

BODY = '{"seq":7,"type":"alert.issued","alert":{"id":"X","headline":{"uk":"Повітряна тривога"}}}'.encode()


def test_secret_is_whsec_and_32_random_bytes() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert new_secret() != secret


def test_reference_verifier_accepts_our_signature_and_returns_the_body() -> None:
    secret = new_secret()
    headers = signing.headers(secret, "msg_01ABC", BODY)
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(BODY, headers) == {
        "seq": 7,
        "type": "alert.issued",
        "alert": {"id": "X", "headline": {"uk": "Повітряна тривога"}},
    }


def test_reference_signature_is_accepted_by_our_verifier() -> None:
    secret = new_secret()
    now = datetime.now(UTC)
    sig = Webhook(secret).sign("msg_1", now, BODY.decode())
    verify(
        secret, BODY, {"Webhook-Id": "msg_1", "Webhook-Timestamp": str(int(now.timestamp())), "Webhook-Signature": sig}
    )


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h, b: (h, b + b" "),  # body changed
        lambda h, b: ({**h, "webhook-id": "msg_other"}, b),  # id changed
        lambda h, b: ({**h, "webhook-timestamp": str(int(h["webhook-timestamp"]) + 1)}, b),  # time changed
        lambda h, b: ({k: v for k, v in h.items() if k != "webhook-signature"}, b),  # unsigned
    ],
)
def test_forgeries_are_refused_by_both_verifiers(tamper: object) -> None:
    secret = new_secret()
    headers, body = tamper(signing.headers(secret, "msg_1", BODY), BODY)  # type: ignore[operator]
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, headers)
    with pytest.raises(SignatureError):
        verify(secret, body, headers)


def test_another_secret_and_replays_are_refused() -> None:
    secret = new_secret()
    headers = signing.headers(secret, "msg_1", BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)
    old = signing.headers(secret, "msg_1", BODY, timestamp=int(time.time()) - 600)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, old)
    with pytest.raises(SignatureError):
        verify(secret, BODY, old)


def test_a_rotated_secret_can_be_sent_alongside_the_old_one() -> None:
    old, new = new_secret(), new_secret()
    headers = signing.headers(new, "msg_1", BODY)
    both = {
        **headers,
        "webhook-signature": signing.headers(old, "msg_1", BODY, int(headers["webhook-timestamp"]))["webhook-signature"]
        + " "
        + headers["webhook-signature"],
    }
    verify(old, BODY, both)
    verify(new, BODY, both)
    Webhook(new).verify(BODY, both)


def test_backoff_doubles_is_capped_and_jittered_within_its_upper_half() -> None:
    backoff = Backoff(base_s=1.0, cap_s=60.0)
    rng = random.Random(7)
    assert [backoff.nominal(n) for n in (1, 2, 3, 7, 8, 100)] == [1, 2, 4, 60, 60, 60]
    for attempt in range(1, 12):
        delays = [backoff.delay(attempt, rng) for _ in range(200)]
        nominal = backoff.nominal(attempt)
        assert all(nominal / 2 <= d <= nominal for d in delays)
        assert len(set(delays)) > 150  # spread, not in step
