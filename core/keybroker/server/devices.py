"""Authorized devices: list, describe, lock, unlock and delete them.

People see and manage their own devices, admins everyone's; another user's device
is "not found" to a non-admin, so its existence is not revealed. Locking keeps the
token but refuses it on the next request (on every replica); deleting removes the
device and its token.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from keybroker.errors import NotFoundError, UsageError
from keybroker.server.audit import AuditLog
from keybroker.server.database import aware, naive, reader, stored_time, utcnow
from keybroker.server.device_models import DeviceInfo

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine, Row

    from keybroker.server.principal import Principal

_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _when(value: datetime | None) -> datetime | None:
    return aware(naive(value))


class DeviceService:
    """The ``devices`` table behind the authorized-devices API."""

    def __init__(self, engine: Engine, audit: AuditLog) -> None:
        self._engine = engine
        self._reader = reader(engine)
        self._audit = audit

    def _select(self) -> Any:
        from sqlalchemy import func, select

        from keybroker.server.schema import credentials, devices, users

        expiry = (
            select(func.max(credentials.c.expires_at))
            .where(credentials.c.device_id == devices.c.id)
            .scalar_subquery()
        )
        return select(
            devices, users.c.name.label("user_name"), expiry.label("token_expires_at")
        ).select_from(devices.join(users, users.c.id == devices.c.user_id))

    @staticmethod
    def _info(row: Row[Any], caller: Principal) -> DeviceInfo:
        return DeviceInfo(
            id=row.id,
            user=row.user_name,
            hostname=row.hostname,
            os=row.os,
            client_version=row.client_version,
            ip_address=row.ip_address,
            trusted=bool(row.trusted),
            locked=bool(row.locked),
            created=stored_time(row.created),
            updated=stored_time(row.updated),
            last_used=_when(row.last_used),
            expires_at=_when(row.token_expires_at),
            current=row.id == caller.device_id,
        )

    def list(
        self,
        caller: Principal,
        limit: int,
        after: str | None = None,
        user: str | None = None,
    ) -> tuple[list[DeviceInfo], str | None]:
        """Devices by creation time: the caller's own, or (admins) everyone's or ``user``'s.

        ``after`` is the position of the last device of the previous page.
        """
        from sqlalchemy import and_, or_

        from keybroker.server.schema import devices, users

        statement = self._select().order_by(devices.c.created, devices.c.id).limit(limit + 1)
        if not caller.is_admin:
            statement = statement.where(devices.c.user_id == caller.user_id)
        if user is not None:
            statement = statement.where(users.c.name == user)
        if after is not None:
            created, _, last_id = after.partition("|")
            try:
                at = datetime.fromisoformat(created)
            except ValueError:
                raise UsageError(
                    "cursor is not valid here; pass the next_cursor of the previous page",
                    parameter="cursor",
                ) from None
            at = naive(at)  # type: ignore[assignment]
            statement = statement.where(
                or_(devices.c.created > at, and_(devices.c.created == at, devices.c.id > last_id))
            )
        with self._reader.connect() as connection:
            rows = connection.execute(statement).all()
        page = [self._info(row, caller) for row in rows[:limit]]
        if len(rows) <= limit:
            return page, None
        last = rows[limit - 1]
        return page, f"{naive(last.created).isoformat()}|{last.id}"  # type: ignore[union-attr]

    def _row(self, caller: Principal, device_id: str) -> Row[Any]:
        from keybroker.server.schema import devices

        missing = NotFoundError(
            f"no device with the id '{device_id[:40]}' that you may see; "
            "'keybroker authorized-device list' shows them",
            parameter="device_id",
        )
        if not _ID.match(device_id):
            raise missing
        statement = self._select().where(devices.c.id == device_id)
        if not caller.is_admin:
            statement = statement.where(devices.c.user_id == caller.user_id)
        with self._reader.connect() as connection:
            row = connection.execute(statement).first()
        if row is None:
            raise missing
        return row

    def get(self, caller: Principal, device_id: str) -> DeviceInfo:
        """One device the caller may see."""
        return self._info(self._row(caller, device_id), caller)

    def set_locked(
        self, caller: Principal, device_id: str, locked: bool, client_ip: str | None
    ) -> DeviceInfo:
        """Lock (its token is refused from the next request on) or unlock a device."""
        from sqlalchemy import update

        from keybroker.server.schema import devices

        row = self._row(caller, device_id)
        with self._engine.begin() as connection:
            connection.execute(
                update(devices)
                .where(devices.c.id == row.id)
                .values(locked=locked, updated=utcnow())
            )
        self._audit.append(
            "device.lock" if locked else "device.unlock",
            principal=caller,
            target=f"device:{row.id}",
            client_ip=client_ip,
            detail=f"host '{row.hostname}' of {row.user_name}",
        )
        return self.get(caller, device_id)

    def delete(self, caller: Principal, device_id: str, client_ip: str | None) -> None:
        """Delete a device and its token."""
        row = self._row(caller, device_id)
        self.forget(row.id)
        self._audit.append(
            "device.delete",
            principal=caller,
            target=f"device:{row.id}",
            client_ip=client_ip,
            detail=f"host '{row.hostname}' of {row.user_name}",
        )

    def forget(self, device_id: str) -> None:
        """Delete a device and (by cascade) its token, unchecked: for sign-out."""
        from sqlalchemy import delete

        from keybroker.server.schema import credentials, devices

        with self._engine.begin() as connection:
            connection.execute(delete(credentials).where(credentials.c.device_id == device_id))
            connection.execute(delete(devices).where(devices.c.id == device_id))
