"""Which installed plugins may load: ``KEYBROKER_PLUGINS`` and ``KEYBROKER_DISABLE_PLUGINS``.

Both take comma-separated names; a name matches a plugin's distribution
(``keybroker-aws``, spelled with ``-`` or ``_``, any case) or one of its entry
points (``aws``, ``kubectl``). ``KEYBROKER_PLUGINS`` loads only what it
names; ``KEYBROKER_DISABLE_PLUGINS`` then removes what it names. A value
naming nothing (empty, blank or only commas) counts as unset, as for every
keybroker variable: it never means "load no plugin". A plugin left out
is treated as not installed, except that ``keybroker plugin list`` shows it
as disabled.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

ALLOW_VARIABLE = "KEYBROKER_PLUGINS"
DENY_VARIABLE = "KEYBROKER_DISABLE_PLUGINS"


def normalize(name: str) -> str:
    """A distribution or entry point name compared the way packaging compares names."""
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


def _names(value: str) -> frozenset[str]:
    return frozenset(normalize(n) for n in value.split(",") if n.strip())


@dataclass(frozen=True)
class PluginSelection:
    """The allow and deny lists; ``allow`` None means every installed plugin."""

    allow: frozenset[str] | None = None
    deny: frozenset[str] = frozenset()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PluginSelection:
        """The selection the environment asks for."""
        env = os.environ if environ is None else environ
        allow = _names(env.get(ALLOW_VARIABLE, ""))
        return cls(allow=allow or None, deny=_names(env.get(DENY_VARIABLE, "")))

    @property
    def restricts(self) -> bool:
        """Whether anything is left out at all."""
        return self.allow is not None or bool(self.deny)

    def allows(self, entry_point: str, distribution: str | None) -> bool:
        """Whether the entry point ``entry_point`` of ``distribution`` may load."""
        names = {normalize(entry_point)}
        if distribution:
            names.add(normalize(distribution))
        if self.allow is not None and not names & self.allow:
            return False
        return not names & self.deny

    def reason(self, entry_point: str, distribution: str | None) -> str:
        """Why an entry point is left out, naming the variable responsible."""
        names = {normalize(entry_point)}
        if distribution:
            names.add(normalize(distribution))
        if names & self.deny:
            return f"disabled by {DENY_VARIABLE}"
        return f"not listed in {ALLOW_VARIABLE}"
