"""The HTML of the device pages: plain, accessible, no script, every value escaped.

Pages are built from :class:`Markup` pieces; :func:`html` escapes every value it
is given unless the value is already ``Markup``, so text that came from a client
(a device's host name, a user name) can only ever appear as text. The one
stylesheet is inline and allowed by its hash in the Content-Security-Policy; the
pages load nothing else and run no JavaScript.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape

STYLE = """
:root { color-scheme: light; font-family: system-ui, -apple-system, "Segoe UI", Roboto,
  sans-serif; line-height: 1.5; color: #1b1f24; background: #f4f6f8; }
body { margin: 0; }
main, footer { max-width: 34rem; margin: 0 auto; padding: 0 1rem; }
main { background: #fff; margin-top: 2.5rem; padding: 1.5rem 2rem 2rem;
  border: 1px solid #d0d7de; border-radius: 8px; }
.brand { font-weight: 700; letter-spacing: .02em; color: #0b5394; margin: 0 0 .25rem; }
h1 { font-size: 1.5rem; margin: 0 0 1rem; }
label { display: block; font-weight: 600; margin: 1rem 0 .25rem; }
input[type=text], input[type=password] { box-sizing: border-box; width: 100%;
  font: inherit; padding: .5rem .6rem; border: 1px solid #6e7781; border-radius: 6px; }
input#user_code { font-family: ui-monospace, monospace; font-size: 1.4rem;
  letter-spacing: .15em; text-transform: uppercase; }
.check { display: flex; gap: .5rem; align-items: flex-start; margin-top: 1.25rem; }
.check label { margin: 0; }
.check input { width: 1.2rem; height: 1.2rem; margin-top: .2rem; }
.hint { color: #57606a; font-size: .92rem; margin: .25rem 0 0; }
.actions { display: flex; gap: .75rem; margin-top: 1.5rem; }
button { font: inherit; font-weight: 600; padding: .55rem 1.2rem; border-radius: 6px;
  border: 1px solid #0b5394; background: #0b5394; color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: #a40e26; border-color: #a40e26; }
button.link { background: none; border: none; color: #0b5394; padding: 0;
  text-decoration: underline; font-weight: 400; }
button:focus-visible, input:focus-visible { outline: 3px solid #f0b400; outline-offset: 2px; }
.error { background: #ffebe9; border: 1px solid #cf222e; border-radius: 6px;
  padding: .6rem .8rem; }
.success { background: #dafbe1; border: 1px solid #1a7f37; border-radius: 6px;
  padding: .6rem .8rem; }
.code { font-family: ui-monospace, monospace; font-size: 1.3rem; letter-spacing: .1em;
  font-weight: 700; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .35rem 1rem;
  margin: 1rem 0; padding: .8rem 1rem; background: #f6f8fa; border-radius: 6px; }
dt { font-weight: 600; }
dd { margin: 0; overflow-wrap: anywhere; }
footer { color: #57606a; font-size: .9rem; padding-top: 1rem; padding-bottom: 2rem; }
footer form { display: inline; }
"""

_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()

#: served with every page: nothing loads but the inline stylesheet; no framing
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class Markup(str):
    """HTML that is already safe to insert as it is."""

    __slots__ = ()


def text(value: object) -> Markup:
    """``value`` as HTML text (escaped, quotes included)."""
    if isinstance(value, Markup):
        return value
    return Markup(escape(str(value), quote=True))


def html(template: str, **values: object) -> Markup:
    """``template`` (trusted markup) with ``{name}`` fields filled by escaped ``values``."""
    return Markup(template.format(**{name: text(value) for name, value in values.items()}))


def join(parts: list[Markup]) -> Markup:
    """Markup pieces one after the other."""
    return Markup("\n".join(parts))


def when(moment: datetime, now: datetime | None = None) -> str:
    """A time for people: UTC to the minute, and how long ago."""
    now = now or datetime.now(UTC)
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 60:
        ago = "just now"
    elif seconds < 3600:
        minutes = seconds // 60
        ago = f"{minutes} minute{'s' if minutes > 1 else ''} ago"
    else:
        hours = seconds // 3600
        ago = f"{hours} hour{'s' if hours > 1 else ''} ago"
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC ({ago})"


def duration(lifetime: timedelta) -> str:
    """``30 days`` or ``24 hours``."""
    hours = int(lifetime.total_seconds() // 3600)
    if hours >= 48 and hours % 24 == 0:
        return f"{hours // 24} days"
    return f"{hours} hour{'s' if hours != 1 else ''}"


@dataclass(frozen=True)
class Frame:
    """What every page shows around its content."""

    csrf_token: str
    signed_in_as: str | None = None


def page(title: str, body: Markup, frame: Frame) -> str:
    """A whole page: the heading ``title`` over ``body``."""
    footer = Markup("")
    if frame.signed_in_as is not None:
        footer = html(
            "<footer>Signed in as <strong>{name}</strong>. "
            '<form method="post" action="/device/sign-out">'
            '<input type="hidden" name="csrf_token" value="{csrf}">'
            '<button type="submit" class="link">Sign out</button></form></footer>',
            name=frame.signed_in_as,
            csrf=frame.csrf_token,
        )
    return html(
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        "<title>{title} - keybroker</title>\n<style>{style}</style>\n</head>\n<body>\n"
        '<main>\n<p class="brand">keybroker</p>\n<h1>{title}</h1>\n{body}\n</main>\n'
        "{footer}\n</body>\n</html>\n",
        title=title,
        style=Markup(STYLE),
        body=body,
        footer=footer,
    )


def _message(error: str | None, notice: str | None = None) -> Markup:
    if error:
        return html('<p class="error" role="alert">{error}</p>', error=error)
    if notice:
        return html('<p class="success" role="status">{notice}</p>', notice=notice)
    return Markup("")


def sign_in_page(
    frame: Frame,
    *,
    user_code: str,
    username: str = "",
    error: str | None = None,
    notice: str | None = None,
) -> str:
    """The sign-in form; a user code from the verification link is carried along."""
    body = html(
        "{message}\n"
        "<p>Sign in to connect a device to this keybroker server.</p>\n"
        '<form method="post" action="/device/sign-in">\n'
        '<input type="hidden" name="csrf_token" value="{csrf}">\n'
        '<input type="hidden" name="user_code" value="{user_code}">\n'
        '<label for="username">User name</label>\n'
        '<input type="text" id="username" name="username" value="{username}" '
        'autocomplete="username" autocapitalize="none" spellcheck="false" maxlength="128" '
        "required autofocus>\n"
        '<label for="password">Password</label>\n'
        '<input type="password" id="password" name="password" '
        'autocomplete="current-password" maxlength="1024" required>\n'
        '<div class="actions"><button type="submit">Sign in</button></div>\n'
        "</form>",
        message=_message(error, notice),
        csrf=frame.csrf_token,
        user_code=user_code,
        username=username,
    )
    return page("Sign in", body, frame)


def code_page(frame: Frame, *, user_code: str = "", error: str | None = None) -> str:
    """The form to enter the code the device shows."""
    body = html(
        "{message}\n"
        "<p>Enter the code that <code>keybroker connect</code> shows on the device you "
        "want to connect.</p>\n"
        '<form method="post" action="/device">\n'
        '<input type="hidden" name="csrf_token" value="{csrf}">\n'
        '<label for="user_code">Code</label>\n'
        '<input type="text" id="user_code" name="user_code" value="{user_code}" '
        'aria-describedby="code-hint" autocomplete="off" autocapitalize="characters" '
        'spellcheck="false" maxlength="32" required autofocus>\n'
        '<p class="hint" id="code-hint">8 letters, like BCDF-GHJK; the dash is optional.</p>\n'
        '<div class="actions"><button type="submit">Continue</button></div>\n'
        "</form>",
        message=_message(error),
        csrf=frame.csrf_token,
        user_code=user_code,
    )
    return page("Connect a device", body, frame)


@dataclass(frozen=True)
class DeviceView:
    """The requesting device as the confirmation page shows it (untrusted text)."""

    user_code: str
    hostname: str
    os: str
    client_id: str
    client_version: str
    ip_address: str
    asked: str


def confirm_page(
    frame: Frame, device: DeviceView, *, user: str, trusted_for: str, untrusted_for: str
) -> str:
    """Which device is asking, with the trust choice and Approve / Deny."""
    body = html(
        "<p>A device asks to act as <strong>{user}</strong> on this server. Approve it only "
        "if you started <code>keybroker connect</code> on it yourself, just now, and it "
        'shows this code:</p>\n<p class="code">{code}</p>\n'
        '<dl aria-label="The device asking">\n'
        "<dt>Host name</dt><dd>{hostname}</dd>\n"
        "<dt>Operating system</dt><dd>{os}</dd>\n"
        "<dt>IP address</dt><dd>{ip}</dd>\n"
        "<dt>Client</dt><dd>{client}</dd>\n"
        "<dt>Asked</dt><dd>{asked}</dd>\n"
        "</dl>\n"
        '<form method="post" action="/device/decision">\n'
        '<input type="hidden" name="csrf_token" value="{csrf}">\n'
        '<input type="hidden" name="user_code" value="{code}">\n'
        '<div class="check"><input type="checkbox" id="trust" name="trust" value="yes" '
        'aria-describedby="trust-hint">\n'
        '<label for="trust">Trust this device</label></div>\n'
        '<p class="hint" id="trust-hint">A trusted device stays connected for {trusted_for}; '
        "otherwise for {untrusted_for}. Trust only a device that you alone use.</p>\n"
        '<div class="actions">'
        '<button type="submit" name="decision" value="approve">Approve</button>\n'
        '<button type="submit" name="decision" value="deny" class="secondary">Deny</button>'
        "</div>\n</form>",
        user=user,
        code=device.user_code,
        hostname=device.hostname or "(not given)",
        os=device.os or "(not given)",
        ip=device.ip_address or "(unknown)",
        client=f"{device.client_id} {device.client_version}".strip(),
        asked=device.asked,
        csrf=frame.csrf_token,
        trusted_for=trusted_for,
        untrusted_for=untrusted_for,
    )
    return page("Approve this device?", body, frame)


def approved_page(frame: Frame, *, hostname: str, user: str, trusted: bool, lasts: str) -> str:
    """The end of an approval."""
    body = html(
        '<p class="success" role="status">Approved: <strong>{hostname}</strong> can act as '
        "<strong>{user}</strong> for {lasts}{trust}.</p>\n"
        "<p>The device finishes connecting by itself: you can close this window and go back "
        "to your terminal. To end its access early, run "
        "<code>keybroker authorized-device lock ID</code>.</p>",
        hostname=hostname or "the device",
        user=user,
        trust=" (a trusted device)" if trusted else "",
        lasts=lasts,
    )
    return page("Device approved", body, frame)


def denied_page(frame: Frame) -> str:
    """The end of a denial."""
    body = html(
        '<p class="success" role="status">The request was denied: the device was not '
        "connected.</p>\n"
        "<p>If you did not start this request yourself, someone may have tried to make you "
        "approve their device: tell the administrators of this server.</p>"
    )
    return page("Request denied", body, frame)


def problem_page(frame: Frame, title: str, message: str) -> str:
    """A page that only explains what went wrong and where to go next."""
    body = html(
        '<p class="error" role="alert">{message}</p>\n<p><a href="/device">Start again</a></p>',
        message=message,
    )
    return page(title, body, frame)
