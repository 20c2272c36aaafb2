"""The H5 liveness page a phone opens: ``GET /h5/<token>`` shows it, ``POST`` records Pass or Fail.

It stands in for BytePlus's KYC H5 page (reference/upstream.md §2): a person says who they
are and presses "Pass" or "Fail"; the browser is then sent (303) to the session's callback URL
with ``bytedToken``, ``resultCode``, ``algorithmBaseRespCode``, ``reqMeasureInfoValue`` and
``verify_type=real_time`` appended to its query. Each outcome has its own page and status:
410 for an expired link, 409 for a used one, 404 for an unknown token, 400 for a bad form.
The page functions are pure (HTML in, HTML out); everything user-provided is escaped.
"""

from __future__ import annotations

import base64
import hashlib
import math
from html import escape
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from .state import RESULT_PASSED, Session, SimError, State

__all__ = [
    "callback_location",
    "done_page",
    "expired_page",
    "invalid_page",
    "not_found_page",
    "routes",
    "used_page",
    "verification_page",
]

LANGUAGES = {"zh": "zh-CN", "en": "en", "zh-Hant": "zh-TW"}
"""Upstream's ``lng`` values and the HTML language tag each one means."""
MAX_PERSON = 200
_MAX_BODY = 16 * 1024  # the form is two short fields
_UNSAFE_SCHEMES = frozenset({"javascript", "data", "vbscript", "file"})

_STYLE = """
*{box-sizing:border-box}
body{margin:0;font:17px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f2f4f7;color:#1d2433}
main{max-width:480px;margin:0 auto;padding:28px 20px 40px}
.card{background:#fff;border-radius:16px;padding:24px 20px;box-shadow:0 1px 3px rgba(16,24,40,.12)}
h1{font-size:1.45rem;margin:0 0 8px}
p{margin:0 0 14px}
.tag{display:inline-block;font-size:.8rem;letter-spacing:.04em;text-transform:uppercase;color:#475467;
background:#eaecf0;border-radius:999px;padding:3px 10px;margin-bottom:14px}
.timer{font-size:.95rem;color:#475467}
.timer strong{color:#1d2433;font-variant-numeric:tabular-nums}
label{display:block;font-weight:600;margin:18px 0 6px}
input[type=text]{width:100%;font-size:1.1rem;padding:14px;border:1.5px solid #d0d5dd;border-radius:12px}
input[type=text]:focus{outline:3px solid #b2ccff;border-color:#2e6be6}
.buttons{display:flex;flex-direction:column;gap:12px;margin-top:22px}
button{font-size:1.2rem;font-weight:600;min-height:58px;border:0;border-radius:14px;color:#fff;cursor:pointer}
button[value=pass]{background:#12805c}
button[value=fail]{background:#b42318}
button:disabled{background:#98a2b3;cursor:not-allowed}
.error{background:#fef3f2;color:#b42318;border-radius:10px;padding:10px 12px;margin:14px 0 0}
.note{font-size:.85rem;color:#667085;margin-top:22px}
.big{font-size:3rem;line-height:1;margin-bottom:10px}
"""

# The countdown reads its seconds from the page, so the script is constant and CSP can pin its hash.
_SCRIPT = """
(function(){
  var el=document.getElementById("remaining");if(!el)return;
  var end=Date.now()+1000*Number(el.getAttribute("data-seconds"));
  function tick(){
    var left=Math.max(0,Math.ceil((end-Date.now())/1000));
    el.textContent=String(left);
    if(left>0){setTimeout(tick,250);return;}
    document.getElementById("timer").textContent="This link has expired. Ask for a new one.";
    var b=document.querySelectorAll("button");for(var i=0;i<b.length;i++)b[i].disabled=true;
  }
  tick();
})();
"""
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{_SCRIPT_HASH}'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
}


def _lang(session: Session | None) -> str:
    return LANGUAGES.get(session.lng, "zh-CN") if session is not None else "en"


def _page(title: str, body: str, *, lang: str = "en", script: bool = False) -> str:
    tail = f"<script>{_SCRIPT}</script>" if script else ""
    return (
        f'<!doctype html>\n<html lang="{escape(lang)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex">\n'
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
        f'<body>\n<main><div class="card">\n<span class="tag">Sandbox liveness check</span>\n'
        f"{body}\n</div></main>{tail}\n</body>\n</html>\n"
    )


def verification_page(session: Session, now: float, *, person: str = "", error: str | None = None) -> str:
    """Return the form: who is verifying, "Pass" and "Fail", and a countdown to the link's expiry."""
    seconds = max(0, math.ceil(session.expires_at - now))
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = f"""<h1>Real-person verification</h1>
<p>This page stands in for the provider's face liveness check. Enter who is verifying, then
choose the outcome the check should report.</p>
<p class="timer" id="timer">This link expires in <strong id="remaining" data-seconds="{seconds}">{seconds}</strong>
seconds.</p>{problem}
<form method="post" autocomplete="off">
<label for="person">Who is verifying?</label>
<input type="text" id="person" name="person" value="{escape(person)}" maxlength="{MAX_PERSON}" required
 placeholder="Full name" autocapitalize="words">
<div class="buttons">
<button type="submit" name="outcome" value="pass">Pass</button>
<button type="submit" name="outcome" value="fail">Fail</button>
</div>
</form>
<p class="note">Only continue if the person named above has agreed to have their likeness used.</p>"""
    return _page("Real-person verification", body, lang=_lang(session), script=True)


def done_page(session: Session) -> str:
    """Return the page for a finished session: verified or not, and that the window can be closed."""
    passed = session.result_code == RESULT_PASSED
    who = f" for {escape(session.person)}" if session.person else ""
    headline = "Verified" if passed else "Not verified"
    line = f"The liveness check passed{who}." if passed else f"The liveness check did not pass{who}."
    body = f"""<div class="big" aria-hidden="true">{"&#10003;" if passed else "&#10007;"}</div>
<h1>{headline}</h1>
<p>{line}</p>
<p>You can close this window now.</p>"""
    return _page(f"{headline} — Real-person verification", body, lang=_lang(session))


def expired_page(session: Session | None = None) -> str:
    """Return the page for a link past its life."""
    body = """<h1>This link has expired</h1>
<p>Verification links are valid for a short time only. Ask for a new link and open it right away.</p>"""
    return _page("Link expired — Real-person verification", body, lang=_lang(session))


def used_page(session: Session | None = None) -> str:
    """Return the page for a link that already recorded an outcome."""
    body = """<h1>This link has already been used</h1>
<p>Each verification link records one answer. Ask for a new link to verify again.</p>"""
    return _page("Link already used — Real-person verification", body, lang=_lang(session))


def not_found_page() -> str:
    """Return the page for a token the emulator never issued."""
    body = """<h1>Link not found</h1>
<p>This verification link is not valid. Check that it was copied completely, or ask for a new one.</p>"""
    return _page("Link not found — Real-person verification", body)


def invalid_page(message: str, session: Session | None = None) -> str:
    """Return a page explaining why a submitted form was refused."""
    body = f"<h1>Something is missing</h1>\n<p>{escape(message)}</p>"
    return _page("Invalid form — Real-person verification", body, lang=_lang(session))


def callback_location(session: Session) -> str:
    """Return the callback URL with the H5 result appended to its query (existing parameters kept)."""
    passed = session.result_code == RESULT_PASSED
    params = urlencode(
        {
            "bytedToken": session.token,
            "resultCode": session.result_code or "",
            "algorithmBaseRespCode": "0" if passed else (session.algorithm_code or ""),
            "reqMeasureInfoValue": "1" if passed else "0",
            "verify_type": "real_time",
        }
    )
    parts = urlsplit(session.callback_url or "")
    query = f"{parts.query}&{params}" if parts.query else params
    return urlunsplit(parts._replace(query=query))


def _redirectable(url: str | None) -> bool:
    if not url:
        return False
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return False
    return bool(scheme) and scheme not in _UNSAFE_SCHEMES


def _html(content: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(content, status_code=status, headers=_HEADERS)


def _closed(session: Session) -> HTMLResponse:
    """The page for a session that no longer takes answers."""
    if session.state == "expired":
        return _html(expired_page(session), 410)
    return _html(done_page(session), 200)


async def _form(request: Request) -> dict[str, str] | None:
    """Return the url-encoded form fields (first value of each), or None if the body is not one."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_BODY:
            return None
    fields: dict[str, str] = {}
    try:
        pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=20)
    except ValueError:
        return None
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields


def routes(state: State) -> list[Route]:
    """Return the Starlette routes serving ``GET`` and ``POST /h5/{token}`` over ``state``."""

    async def show(request: Request) -> Response:
        session = state.session_for_page(request.path_params["token"])
        if session is None:
            return _html(not_found_page(), 404)
        if session.state != "pending":
            return _closed(session)
        return _html(verification_page(session, state.clock()))

    async def submit(request: Request) -> Response:
        token = request.path_params["token"]
        session = state.session_for_page(token)
        if session is None:
            return _html(not_found_page(), 404)
        if session.state == "expired":
            return _html(expired_page(session), 410)
        if session.state != "pending":
            return _html(used_page(session), 409)
        fields = await _form(request)
        if fields is None:
            message = "The form could not be read: send the fields outcome and person, url-encoded."
            return _html(invalid_page(message, session), 400)
        outcome = fields.get("outcome", "")
        person = " ".join(fields.get("person", "").split())
        error = None
        if outcome not in ("pass", "fail"):
            error = 'The field "outcome" must be "pass" or "fail".'
        elif not person:
            error = 'The field "person" is required: enter who is verifying.'
        elif len(person) > MAX_PERSON:
            error = f'The field "person" is too long (at most {MAX_PERSON} characters).'
        if error is not None:
            return _html(verification_page(session, state.clock(), person=person[:MAX_PERSON], error=error), 400)
        try:
            session = state.complete(token, passed=outcome == "pass", person=person)
        except SimError as exc:  # the link expired or was used between the look and the answer
            page = {"expired": (expired_page, 410), "conflict": (used_page, 409)}.get(exc.kind)
            if page is None:
                return _html(not_found_page(), 404)
            return _html(page[0](session), page[1])
        if _redirectable(session.callback_url):
            return RedirectResponse(callback_location(session), status_code=303, headers=_HEADERS)
        return _html(done_page(session))

    return [
        Route("/h5/{token}", show, methods=["GET"]),
        Route("/h5/{token}", submit, methods=["POST"]),
    ]
