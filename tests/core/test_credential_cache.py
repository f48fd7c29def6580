"""The credential cache plugins keep temporary credentials in."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import SecretStr

from keybroker.connector import utcnow
from keybroker.credential_cache import CredentialCache, credentials_fingerprint, renew_margin
from keybroker.types import AuthConfig


@dataclass
class Issued:
    serial: int
    expires_at: datetime


class Minter:
    def __init__(self, lifetime: timedelta) -> None:
        self.lifetime = lifetime
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self) -> Issued:
        with self.lock:
            self.count += 1
            serial = self.count
        time.sleep(0.05)  # long enough for concurrent callers to pile up
        return Issued(serial, utcnow() + self.lifetime)


def test_values_are_reused_until_shortly_before_they_expire() -> None:
    cache: CredentialCache[Issued] = CredentialCache(lambda i: i.expires_at)
    hour = Minter(timedelta(hours=1))
    assert cache.get("a", hour).serial == cache.get("a", hour).serial == 1
    assert cache.get("b", hour).serial == 2  # another key, another issue
    short = Minter(timedelta(seconds=8))  # less than the 10 s minimum margin: never reused
    cache.get("c", short)
    cache.get("c", short)
    assert short.count == 2
    cache.clear()
    assert len(cache) == 0
    assert cache.get("a", hour).serial == 3


def test_concurrent_callers_share_one_issue() -> None:
    cache: CredentialCache[Issued] = CredentialCache(lambda i: i.expires_at)
    minter = Minter(timedelta(hours=1))
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get("k", minter).serial))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert minter.count == 1 and results == [1] * 8


def test_renew_margin_is_a_fifth_within_bounds() -> None:
    assert renew_margin(timedelta(hours=1)) == timedelta(minutes=5)
    assert renew_margin(timedelta(minutes=15)) == timedelta(minutes=3)
    assert renew_margin(timedelta(seconds=20)) == timedelta(seconds=10)


class KeyConfig(AuthConfig):
    user: str
    key: SecretStr


def test_fingerprints_tell_secrets_apart_without_holding_them() -> None:
    one = credentials_fingerprint(KeyConfig(user="u", key=SecretStr("s3cr3t-one")), "x")
    two = credentials_fingerprint(KeyConfig(user="u", key=SecretStr("s3cr3t-two")), "x")
    other_part = credentials_fingerprint(KeyConfig(user="u", key=SecretStr("s3cr3t-one")), "y")
    assert len({one, two, other_part}) == 3
    assert "s3cr3t" not in one
