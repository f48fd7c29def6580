"""The device pages a person uses to approve ``keybroker connect`` (RFC 8628 §3.3).

``GET /device`` shows the sign-in form, or the code form once signed in (prefilled
from ``verification_uri_complete``'s ``user_code``); ``POST /device`` looks the
code up and shows which device is asking; ``POST /device/decision`` approves (with
or without trust) or denies; ``POST /device/sign-in`` and ``/device/sign-out``.
Every form carries the CSRF token of the browser session's cookie; every answer
carries the strict headers of :data:`keybroker.server.pages.SECURITY_HEADERS`.
Looking a code up happens only on a POST, so it is always counted and limited.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from keybroker.errors import UnauthenticatedError
from keybroker.server import pages
from keybroker.server.dependencies import Context
from keybroker.server.device_codes import display_user_code, normalize_user_code
from keybroker.server.device_flow import CLI_CLIENT_ID
from keybroker.server.errors import RateLimited
from keybroker.server.forms import FormError, read_form
from keybroker.server.passwords import MAX_PASSWORD_LENGTH
from keybroker.server.signin import check_password
from keybroker.server.web_sessions import (
    SESSION_PREFIX,
    WebUser,
    is_cookie_value,
    new_anonymous_value,
)

router = APIRouter(include_in_schema=False)

COOKIE = "keybroker_device"
SECURE_COOKIE = "__Host-keybroker_device"  # the prefix binds it to this origin, https only
WRONG_CODE = (
    "That code is not valid, or it has expired or was already used. Check the code your "
    "terminal shows, or run 'keybroker connect' again for a new one."
)
#: every field of every form of the pages
FORM_FIELDS = frozenset({"csrf_token", "username", "password", "user_code", "decision", "trust"})
FORM_EXPIRED = (
    "This form has expired or did not come from this site (cookies must be enabled). "
    "Go back, reload the page and try again."
)


@dataclass
class Visit:
    """One request's browser session: the cookie value it came with or was given.

    Only a page view (GET) hands out a new cookie when none came: a POST may arrive
    without the cookie the browser holds (a cross-site form: SameSite), and answering
    it with a new one would sign the person out.
    """

    cookie: str
    sent_cookie: str | None
    user: WebUser | None
    secure: bool
    issue_cookie: bool = False

    @property
    def cookie_name(self) -> str:
        """``__Host-`` prefixed over https (the prefix requires Secure)."""
        return SECURE_COOKIE if self.secure else COOKIE


async def _visit(request: Request, context: Context) -> Visit:
    """The browser session a request comes with (a GET without one is given one)."""
    public = context.settings.public_url or ""
    secure = request.url.scheme == "https" or public.startswith("https://")
    sent = request.cookies.get(SECURE_COOKIE if secure else COOKIE)
    if not is_cookie_value(sent):
        sent = None
    user = None
    if sent is not None and sent.startswith(SESSION_PREFIX):
        user = await run_in_threadpool(context.web_sessions.current, sent)
    if sent is None and request.method == "GET":
        return Visit(new_anonymous_value(), None, None, secure, issue_cookie=True)
    return Visit(cookie=sent or "", sent_cookie=sent, user=user, secure=secure)


def _frame(context: Context, visit: Visit) -> pages.Frame:
    return pages.Frame(
        csrf_token=context.web_sessions.csrf_token(visit.cookie) if visit.cookie else "",
        signed_in_as=visit.user.name if visit.user else None,
    )


def _answer(
    visit: Visit, content: str, status: int = 200, *, retry_after: int | None = None
) -> HTMLResponse:
    """A page with the security headers (and the visit's new cookie, if it was given one)."""
    headers = dict(pages.SECURITY_HEADERS)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    response = HTMLResponse(content, status_code=status, headers=headers)
    if visit.issue_cookie:
        _set_cookie(response, visit, None)  # a browser-session cookie
    return response


def _set_cookie(response: Response, visit: Visit, max_age: int | None) -> None:
    response.set_cookie(
        visit.cookie_name,
        visit.cookie,
        max_age=max_age,
        path="/",
        secure=visit.secure,
        httponly=True,
        samesite="lax",
    )


def _shown_code(text: str) -> str:
    """A user code as typed, tidied to XXXX-XXXX when it is well formed."""
    code = normalize_user_code(text)
    return display_user_code(code) if code else text[:32]


async def _form(request: Request, context: Context, visit: Visit) -> dict[str, str] | Response:
    """The POSTed form when its CSRF token belongs to the session; else an answer to send."""
    try:
        fields = await read_form(request, FORM_FIELDS)
    except FormError as exc:
        return _answer(
            visit, pages.problem_page(_frame(context, visit), "Bad request", exc.message), 400
        )
    if not context.web_sessions.csrf_matches(visit.sent_cookie, fields.get("csrf_token")):
        return _answer(
            visit,
            pages.problem_page(_frame(context, visit), "Form expired", FORM_EXPIRED),
            403,
        )
    return fields


def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.get("/device")
async def device_page(request: Request, context: Context) -> HTMLResponse:
    """Sign in, or enter the code (prefilled from the verification link)."""
    visit = await _visit(request, context)
    code = _shown_code(request.query_params.get("user_code", ""))
    frame = _frame(context, visit)
    if visit.user is None:
        return _answer(visit, pages.sign_in_page(frame, user_code=code))
    return _answer(visit, pages.code_page(frame, user_code=code))


@router.post("/device/sign-in")
async def sign_in(request: Request, context: Context) -> Response:
    """Check the password under the server's sign-in rules; start a browser session."""
    visit = await _visit(request, context)
    fields = await _form(request, context, visit)
    if isinstance(fields, Response):
        return fields
    username = fields.get("username", "")
    password = fields.get("password", "")
    code = _shown_code(fields.get("user_code", ""))
    frame = _frame(context, visit)

    def again(message: str, status: int, retry_after: int | None = None) -> HTMLResponse:
        shown_name = username[:128]
        content = pages.sign_in_page(frame, user_code=code, username=shown_name, error=message)
        return _answer(visit, content, status, retry_after=retry_after)

    if not username or not password:
        return again("Enter your user name and password.", 400)
    if len(username) > 128 or len(password) > MAX_PASSWORD_LENGTH:
        return again("wrong user name or password", 400)
    address = _client_ip(request)
    try:
        account = await run_in_threadpool(
            check_password, context, username, password, address, "auth.web_sign_in"
        )
    except RateLimited as exc:
        return again(exc.message, 429, exc.retry_after)
    except UnauthenticatedError as exc:
        return again(exc.message, 400)
    value, _expires = await run_in_threadpool(context.web_sessions.start, account.id, address)
    person = await run_in_threadpool(context.web_sessions.current, value)
    if person is None:  # deactivated in between
        return again("wrong user name or password", 400)
    await run_in_threadpool(
        context.audit.append,
        "auth.web_sign_in",
        principal=person.principal(),
        expires_at=person.expires_at,
        client_ip=address,
    )
    target = "/device" + (f"?user_code={quote(code)}" if code else "")
    response = RedirectResponse(target, status_code=303, headers=pages.SECURITY_HEADERS)
    signed_in = Visit(cookie=value, sent_cookie=visit.sent_cookie, user=person, secure=visit.secure)
    _set_cookie(response, signed_in, int(context.web_sessions.lifetime.total_seconds()))
    return response


def _signed_out(
    context: Context, visit: Visit, code: str, message: str = "Your sign-in has expired."
) -> HTMLResponse:
    content = pages.sign_in_page(_frame(context, visit), user_code=code, error=message)
    return _answer(visit, content, 401)


@router.post("/device")
async def enter_code(request: Request, context: Context) -> Response:
    """Look the code up; show which device is asking."""
    visit = await _visit(request, context)
    fields = await _form(request, context, visit)
    if isinstance(fields, Response):
        return fields
    typed = fields.get("user_code", "")
    if visit.user is None:
        return _signed_out(context, visit, _shown_code(typed))
    frame = _frame(context, visit)
    address = _client_ip(request)
    try:
        pending = await run_in_threadpool(
            context.device_flow.find_pending, typed, visit.user.principal(), address
        )
    except RateLimited as exc:
        content = pages.code_page(frame, user_code=_shown_code(typed), error=exc.message)
        return _answer(visit, content, 429, retry_after=exc.retry_after)
    if pending is None:
        content = pages.code_page(frame, user_code=_shown_code(typed), error=WRONG_CODE)
        return _answer(visit, content, 400)
    flow = context.device_flow
    view = pages.DeviceView(
        user_code=display_user_code(pending.user_code),
        hostname=pending.details.hostname,
        os=pending.details.os,
        client_id=CLI_CLIENT_ID,
        client_version=pending.details.client_version,
        ip_address=pending.client_ip or "",
        asked=pages.when(pending.created),
    )
    content = pages.confirm_page(
        frame,
        view,
        user=visit.user.name,
        trusted_for=pages.duration(flow.token_lifetime(True)),
        untrusted_for=pages.duration(flow.token_lifetime(False)),
    )
    return _answer(visit, content)


@router.post("/device/decision")
async def decide(request: Request, context: Context) -> Response:
    """Approve (trusted or not) or deny the request of the code."""
    visit = await _visit(request, context)
    fields = await _form(request, context, visit)
    if isinstance(fields, Response):
        return fields
    typed = fields.get("user_code", "")
    if visit.user is None:
        return _signed_out(context, visit, _shown_code(typed))
    frame = _frame(context, visit)
    choice = fields.get("decision")
    if choice not in ("approve", "deny"):
        return _answer(
            visit,
            pages.problem_page(frame, "Bad request", "Choose Approve or Deny."),
            400,
        )
    try:
        decision = await run_in_threadpool(
            lambda: context.device_flow.decide(
                typed,
                visit.user.principal(),  # type: ignore[union-attr]  # checked above
                approve=choice == "approve",
                trusted=fields.get("trust") == "yes",
                client_ip=_client_ip(request),
            )
        )
    except RateLimited as exc:
        content = pages.code_page(frame, user_code=_shown_code(typed), error=exc.message)
        return _answer(visit, content, 429, retry_after=exc.retry_after)
    if decision is None:
        content = pages.code_page(frame, user_code="", error=WRONG_CODE)
        return _answer(visit, content, 400)
    if not decision.approved:
        return _answer(visit, pages.denied_page(frame))
    content = pages.approved_page(
        frame,
        hostname=decision.details.hostname,
        user=visit.user.name,
        trusted=decision.trusted,
        lasts=pages.duration(decision.token_lifetime),
    )
    return _answer(visit, content)


@router.post("/device/sign-out")
async def sign_out(request: Request, context: Context) -> Response:
    """End the browser session."""
    visit = await _visit(request, context)
    fields = await _form(request, context, visit)
    if isinstance(fields, Response):
        return fields
    await run_in_threadpool(context.web_sessions.end, visit.sent_cookie)
    fresh = Visit(new_anonymous_value(), visit.sent_cookie, None, visit.secure, issue_cookie=True)
    content = pages.sign_in_page(_frame(context, fresh), user_code="", notice="You are signed out.")
    return _answer(fresh, content)
