"""Schemathesis hooks for scripts/schemathesis: every secured request goes out as an administrator.

The run is an administrator, so it can end or change its own credentials: `POST /api/auth/logout`
ends the session (or all of them), `PATCH /api/users/{id}` on its own id can change its email or
password (which also ends its sessions), `PATCH /api/auth/me` can change its password,
`POST /api/users/{id}/password-reset` on its own id ends its sessions and makes the next login set
a new password first, and `POST /api/auth/otp/enable` could turn one-time codes on. Rather than
excluding those operations, the provider below keeps the harness logged in:

- a 401 makes Schemathesis drop the cached token, call `get` again and replay the request once
  (Schemathesis' reactive re-authentication, `retry_on=[401]`; not in the stateful phase);
- `after_call` logs in again as soon as a request ended the harness's session (a logout, a new
  or reset password, a 401 `unauthenticated` or 403 `password_change_required` on its own
  token), so the next request, stateful steps
  included, carries a valid token; and it follows the harness's own email and password when a
  successful request changed them, so that login uses the new ones; after a password reset the
  login sets a new password first (`PATCH /api/auth/me`), as the user would;
- when a login still fails (an unforeseen change, one-time codes turned on), `get` creates a fresh
  administrator with `tessera admin create --no-otp` on the server's data directory and logs in as
  it. The number of logins and replacements is printed at the end.

Only scripts/schemathesis sets the TESSERA_SCHEMATHESIS_* variables this file reads.
"""

from __future__ import annotations

import atexit
import os
import secrets
import subprocess
import sys
import threading

import requests
import schemathesis
from schemathesis.auths import refresh_auth

try:
    BASE_URL = os.environ["TESSERA_SCHEMATHESIS_BASE_URL"].rstrip("/")
    BINARY = os.environ["TESSERA_SCHEMATHESIS_BINARY"]
    SERVER_CWD = os.environ["TESSERA_SCHEMATHESIS_SERVER_DIR"]
    # The variables `tessera admin create` needs to reach the server's database.
    CLI_ENV = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "TESSERA_DATA_DIR": os.environ["TESSERA_SCHEMATHESIS_DATA_DIR"],
        "JWT_SECRET": os.environ["TESSERA_SCHEMATHESIS_JWT_SECRET"],
        "APP_ENV": "test",
        "RUST_LOG": "warn",
    }
    _INITIAL = {
        "email": os.environ["TESSERA_SCHEMATHESIS_EMAIL"],
        "password": os.environ["TESSERA_SCHEMATHESIS_PASSWORD"],
        "token": os.environ["TESSERA_SCHEMATHESIS_TOKEN"],
        "user_id": int(os.environ["TESSERA_SCHEMATHESIS_USER_ID"]),
    }
except KeyError as missing:
    raise RuntimeError(f"{missing} is not set: run schemathesis through scripts/schemathesis") from None


class _Credentials:
    """The administrator the harness currently is, shared by every worker thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.email: str = _INITIAL["email"]
        self.password: str = _INITIAL["password"]
        self.user_id: int = _INITIAL["user_id"]
        # The token scripts/schemathesis got with the first login, used before logging in again.
        self.pending_token: str | None = _INITIAL["token"]
        # The token handed out last: only requests carrying it are the harness's own.
        self.token: str | None = None
        self.logins = 0
        self.replacements = 0


CREDENTIALS = _Credentials()


def _login(email: str, password: str) -> requests.Response:
    return requests.post(
        f"{BASE_URL}/api/auth/login",
        json={"email": email, "password": password},
        headers={"Accept": "application/json"},
        timeout=30,
    )


def _create_replacement_admin() -> tuple[str, str]:
    email = f"schemathesis-admin-{secrets.token_hex(4)}@example.org"
    password = secrets.token_urlsafe(24)
    result = subprocess.run(
        [BINARY, "admin", "create", "--email", email, "--name", "Schemathesis replacement", "--no-otp"],
        env={**CLI_ENV, "TESSERA_NEW_ADMIN_PASSWORD": password},
        cwd=SERVER_CWD,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"tessera admin create failed ({result.returncode}): {result.stderr.strip()}")
    return email, password


def _secured(ctx) -> bool:
    """Public operations (login, refresh, health, signed object URLs) get no bearer token."""
    return bool(ctx.operation.definition.raw.get("security"))


# Schemathesis caches the token (refresh_interval) and, on a 401 outside the stateful phase,
# fetches a new one and replays the request (retry_on). after_call below covers the stateful phase.
def _log_in(creds: _Credentials) -> dict:
    """Log in as the harness's administrator; called with creds.lock held."""
    response = _login(creds.email, creds.password)
    if response.status_code != 200:
        # The credentials changed in a way after_call did not see, or one-time codes are on.
        creds.email, creds.password = _create_replacement_admin()
        creds.replacements += 1
        response = _login(creds.email, creds.password)
        response.raise_for_status()
    body = response.json()
    if body["user"].get("must_change_password"):
        # Someone reset this password (POST /api/users/{id}/password-reset on the harness itself):
        # until a new one is set every call is a 403, so set one, as the user would, and log in again.
        new_password = secrets.token_urlsafe(24)
        change = requests.patch(
            f"{BASE_URL}/api/auth/me",
            json={"current_password": creds.password, "password": new_password},
            headers={"Authorization": f"Bearer {body['access_token']}", "Accept": "application/json"},
            timeout=30,
        )
        change.raise_for_status()
        creds.password = new_password
        response = _login(creds.email, creds.password)
        response.raise_for_status()
        body = response.json()
        if body["user"].get("must_change_password"):
            raise RuntimeError(f"{creds.email} still has to change its password after changing it")
    return body


# Schemathesis caches the token (refresh_interval) and, on a 401 outside the stateful phase,
# fetches a new one and replays the request (retry_on). after_call below covers the stateful phase.
@schemathesis.auth(refresh_interval=3600, retry_on=[401]).apply_to(_secured)
class TesseraAdmin:
    def get(self, case, ctx):
        creds = CREDENTIALS
        with creds.lock:
            if creds.pending_token is not None:
                creds.token, creds.pending_token = creds.pending_token, None
                return creds.token
            body = _log_in(creds)
            creds.logins += 1
            creds.user_id = body["user"]["id"]
            creds.token = body["access_token"]
            return creds.token

    def set(self, case, data, ctx):
        if case.headers is None:
            case.headers = {}
        case.headers["Authorization"] = f"Bearer {data}"


def _problem_code(response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


@schemathesis.hook
def after_call(context, case, response) -> None:
    """Follow changes to the harness's own credentials; log in again as soon as its session ended.

    Outside the stateful phase Schemathesis replays a request that got a 401 with a fresh token;
    the stateful phase does not, so without this every later step of a sequence that logged out
    would only get 401s.
    """
    creds = CREDENTIALS
    sent = response.request.headers.get("Authorization")
    token = creds.token
    if token is None or sent != f"Bearer {token}":
        return  # not the harness's current token: a negative or unauthenticated case
    operation_id = case.operation.definition.raw.get("operationId")
    status = response.status_code
    # A 401 `unauthenticated` on the harness's own token: its session ended. A 403
    # `password_change_required`: its password was reset; _log_in sets a new one.
    ended = (status, _problem_code(response)) in {
        (401, "unauthenticated"),
        (403, "password_change_required"),
    }
    if 200 <= status < 300:
        body = case.body if isinstance(case.body, dict) else {}
        own_id = str((case.path_parameters or {}).get("id")) == str(creds.user_id)
        if operation_id == "logout":
            ended = True
        elif operation_id == "reset_password" and own_id:
            # Ends every session; the next login must set a new password first (_log_in does).
            with creds.lock:
                if isinstance(body.get("password"), str):
                    creds.password = body["password"]
            ended = True
        elif operation_id == "update_me" or (operation_id == "update_user" and own_id):
            with creds.lock:
                if isinstance(body.get("password"), str):
                    # A new password ends the account's sessions.
                    creds.password = body["password"]
                    ended = True
                if operation_id == "update_user" and body.get("email") is not None:
                    try:
                        creds.email = response.json()["email"]
                    except (ValueError, KeyError, TypeError):
                        pass
    if ended:
        # Drop the cached token and fetch a new one now, so the next request carries it.
        refresh_auth(case)


@atexit.register
def _report() -> None:
    creds = CREDENTIALS
    print(
        f"harness: logged in again {creds.logins} time(s); "
        f"created {creds.replacements} replacement administrator(s)",
        file=sys.stderr,
    )
