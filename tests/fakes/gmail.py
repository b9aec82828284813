"""A fake Google for the Gmail provider, served over real HTTP by `tests.fakes.server`:

- `/certs`: Google's signing certificates ({key id: PEM}), with a Cache-Control max-age;
- `/token`: the OAuth 2.0 token endpoint, for a service account with domain-wide delegation
  (a JWT bearer grant, its signature checked against the key the fake issued) and for an
  OAuth client (a refresh token grant);
- `/gmail/v1/users/{user}/...`: `history.list`, `messages.get`, `messages.list`,
  `getProfile` and `watch`, in Gmail's JSON shapes, over a mailbox the test fills.

Push tokens are real RS256 OIDC tokens: `SigningKey` holds an RSA key and a self-signed
certificate made with `cryptography`, and signs with google-auth's `RSASigner`. Failures are
injected per call (`fail`), and every call is recorded (`calls`) so tests can count them.
"""

from __future__ import annotations

import base64
import functools
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt
from google.auth import jwt as google_jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pigeon.clock import FrozenClock

GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
GMAIL_READONLY = "https://www.googleapis.com/auth/gmail.readonly"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
WATCH_LIFETIME = timedelta(days=7)


@dataclass(frozen=True)
class SigningKey:
    """An RSA key with its self-signed X.509 certificate, as Google publishes its keys."""

    kid: str
    private_pem: str
    cert_pem: str

    def sign(self, claims: Mapping[str, Any], *, kid: str | None = None) -> str:
        """A JWT (RS256) of `claims`, its header naming `kid` (this key's by default)."""
        signer = crypt.RSASigner.from_string(self.private_pem, key_id=kid or self.kid)
        token: bytes = google_jwt.encode(signer, dict(claims))
        return token.decode()


@functools.cache
def signing_key(kid: str) -> SigningKey:
    """One key per name for the whole run: RSA key generation is slow."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"fake-google-{kid}")])
    start = datetime(2020, 1, 1, tzinfo=UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=365 * 30))
        .sign(key, hashes.SHA256())
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return SigningKey(kid, private_pem, cert.public_bytes(serialization.Encoding.PEM).decode())


@dataclass
class Record:
    """One history record: a message added."""

    history_id: int
    message_id: str


@dataclass
class FakeGoogle:
    mailbox: str
    clock: FrozenClock
    base_url: str = ""  # set once served
    google_key: SigningKey = field(default_factory=lambda: signing_key("google-1"))
    service_account_key: SigningKey = field(default_factory=lambda: signing_key("svc-acct"))
    service_account_email: str = "pigeon-reader@proj.iam.gserviceaccount.com"
    oauth_client: dict[str, str] = field(
        default_factory=lambda: {
            "client_id": "client-1.apps.googleusercontent.com",
            "client_secret": "client-secret-1",
            "refresh_token": "1//refresh-token-1",
        }
    )
    certs_max_age: int = 3600
    history_id: int = 1000
    oldest_history_id: int = 0  # history.list from below this answers 404
    page_size: int = 2  # small, so pigeon's paging is exercised
    watch_lifetime: timedelta = WATCH_LIFETIME
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    records: list[Record] = field(default_factory=list)
    deleted: set[str] = field(default_factory=set)
    fail: dict[str, int] = field(default_factory=dict)  # call name -> HTTP status to answer
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    token_grants: list[dict[str, Any]] = field(default_factory=list)
    watches: list[dict[str, Any]] = field(default_factory=list)
    certs_fetches: int = 0
    published: int = 0
    _issued: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # What a test sets up ---------------------------------------------------------------

    def service_account_info(self) -> dict[str, str]:
        return {
            "type": "service_account",
            "project_id": "proj",
            "private_key_id": self.service_account_key.kid,
            "private_key": self.service_account_key.private_pem,
            "client_email": self.service_account_email,
            "client_id": "1234567890",
            "token_uri": f"{self.base_url}/token",
        }

    def authorized_user_info(self) -> dict[str, str]:
        return {
            "type": "authorized_user",
            **self.oauth_client,
            "token_uri": f"{self.base_url}/token",
        }

    def deliver(
        self,
        subject: str = "Lunch on Friday?",
        text: str | None = "Are we still on for Friday?",
        *,
        sender: str = "Bob Jones <bob@example.org>",
        html: str | None = None,
        labels: tuple[str, ...] = ("INBOX", "UNREAD"),
        age: timedelta = timedelta(0),
        extra_headers: Mapping[str, str] | None = None,
        charset: str = "UTF-8",
    ) -> str:
        """A message arriving now (or `age` ago): a new history record; returns its id."""
        with self._lock:
            self.history_id += 7  # history ids grow, but not one by one
            message_id = f"18c{self.history_id:013x}"
            received = self.clock.now() - age
            headers = {
                "From": sender,
                "To": f"Ann <{self.mailbox}>",
                "Cc": "carol@example.org",
                "Subject": subject,
                "Message-ID": f"<{message_id}@mail.example.org>",
                "In-Reply-To": "<earlier@mail.example.org>",
                "Date": received.strftime("%a, %d %b %Y %H:%M:%S +0000"),
                **(extra_headers or {}),
            }
            self.messages[message_id] = {
                "id": message_id,
                "threadId": message_id,
                "labelIds": list(labels),
                "snippet": (text or "")[:100],
                "historyId": str(self.history_id),
                "internalDate": str(int(received.timestamp() * 1000)),
                "sizeEstimate": 1234,
                "payload": _payload(headers, text, html, charset),
            }
            self.records.append(Record(self.history_id, message_id))
            return message_id

    def delete(self, message_id: str) -> None:
        """Gone for messages.get, still in the history (as between a listing and a get)."""
        self.deleted.add(message_id)

    def push_envelope(
        self, history_id: int | None = None, *, email_address: str | None = None
    ) -> dict[str, Any]:
        """A Pub/Sub push of Gmail's notification, as Pub/Sub sends it."""
        data = {
            "emailAddress": email_address or self.mailbox,
            "historyId": history_id if history_id is not None else self.history_id,
        }
        self.published += 1
        message_id = str(9_000_000_000 + self.published)
        published = self.clock.now().isoformat().replace("+00:00", "Z")
        message = {
            "data": base64.b64encode(json.dumps(data).encode()).decode(),
            "attributes": {},
            "messageId": message_id,
            "message_id": message_id,
            "publishTime": published,
            "publish_time": published,
        }
        return {"message": message, "subscription": "projects/proj/subscriptions/gmail-push"}

    def push_claims(self, audience: str, pusher: str, **overrides: Any) -> dict[str, Any]:
        """The claims of the OIDC token Pub/Sub sends with a push as `pusher` (a service
        account's email), issued now; `overrides` replace any of them."""
        now = int(self.clock.now().timestamp())
        claims = {
            "aud": audience,
            "azp": "113774264463038321964",
            "email": pusher,
            "email_verified": True,
            "exp": now + 3600,
            "iat": now,
            "iss": "https://accounts.google.com",
            "sub": "113774264463038321964",
        }
        claims.update(overrides)
        return claims

    def calls_to(self, name: str) -> list[dict[str, str]]:
        return [params for call, params in self.calls if call == name]

    # The app ---------------------------------------------------------------------------

    @property
    def app(self) -> Starlette:
        user = "/gmail/v1/users/{user}"
        return Starlette(
            routes=[
                Route("/certs", self._certs),
                Route("/token", self._token, methods=["POST"]),
                Route(f"{user}/history", self._history),
                Route(f"{user}/messages", self._list_messages),
                Route(f"{user}/messages/{{message_id}}", self._get_message),
                Route(f"{user}/profile", self._profile),
                Route(f"{user}/watch", self._watch, methods=["POST"]),
            ]
        )

    async def _certs(self, request: Request) -> Response:
        self.certs_fetches += 1
        if "certs" in self.fail:
            return JSONResponse({"error": "unavailable"}, status_code=self.fail["certs"])
        return JSONResponse(
            {self.google_key.kid: self.google_key.cert_pem},
            headers={"Cache-Control": f"public, max-age={self.certs_max_age}, must-revalidate"},
        )

    async def _token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        grant = str(form.get("grant_type"))
        if grant == JWT_BEARER:
            try:
                claims = google_jwt.decode(
                    str(form.get("assertion")),
                    certs=self.service_account_key.cert_pem,
                    audience=GOOGLE_TOKEN_AUDIENCE,
                )
            except Exception as error:
                return _oauth_error("invalid_grant", str(error))
            if claims.get("iss") != self.service_account_email:
                return _oauth_error("invalid_grant", "unknown service account")
            self.token_grants.append({"grant": "jwt", **claims})
        elif grant == "refresh_token":
            given = {key: str(form.get(key)) for key in self.oauth_client}
            if given != self.oauth_client:
                return _oauth_error("invalid_grant", "Bad Request")
            self.token_grants.append({"grant": "refresh_token", "client_id": given["client_id"]})
        else:
            return _oauth_error("unsupported_grant_type", grant)
        token = f"ya29.fake-{len(self.token_grants)}"
        self._issued.add(token)
        return JSONResponse({"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def _refused(self, request: Request, name: str) -> Response | None:
        """The answer to a call that does not get through: no token, another user, an
        injected failure. Records the call."""
        self.calls.append((name, dict(request.query_params)))
        header = request.headers.get("authorization", "")
        if header.removeprefix("Bearer ") not in self._issued:
            return _api_error(401, "Invalid Credentials", "authError", "UNAUTHENTICATED")
        if request.path_params["user"] != self.mailbox:
            return _api_error(400, "Invalid user", "invalidArgument", "INVALID_ARGUMENT")
        if name in self.fail:
            status = self.fail[name]
            return _api_error(status, "Backend Error", "backendError", "INTERNAL")
        return None

    async def _history(self, request: Request) -> Response:
        if refused := self._refused(request, "history"):
            return refused
        query = request.query_params
        start = int(query["startHistoryId"])
        if start < self.oldest_history_id:
            return _api_error(404, "Requested entity was not found.", "notFound", "NOT_FOUND")
        if query.get("historyTypes") != "messageAdded":
            return _api_error(400, "historyTypes", "invalidArgument", "INVALID_ARGUMENT")
        label = query.get("labelId")
        records = [
            r
            for r in self.records
            if r.history_id > start
            and (label is None or label in self.messages[r.message_id]["labelIds"])
        ]
        offset = int(query.get("pageToken") or 0)
        size = min(int(query.get("maxResults") or 100), self.page_size)
        page = records[offset : offset + size]
        body: dict[str, Any] = {"historyId": str(self.history_id)}
        if page:
            body["history"] = [_history_record(r, self.messages[r.message_id]) for r in page]
        if offset + size < len(records):
            body["nextPageToken"] = str(offset + size)
        return JSONResponse(body)

    async def _list_messages(self, request: Request) -> Response:
        if refused := self._refused(request, "messages.list"):
            return refused
        query = request.query_params
        found = [m for m in self.messages.values() if m["id"] not in self.deleted]
        if label := query.get("labelIds"):
            found = [m for m in found if label in m["labelIds"]]
        q = query.get("q", "")
        if q.startswith("newer_than:") and q.endswith("d"):
            since = self.clock.now() - timedelta(days=int(q[len("newer_than:") : -1]))
            found = [m for m in found if int(m["internalDate"]) >= since.timestamp() * 1000]
        found.sort(key=lambda m: int(m["internalDate"]), reverse=True)
        offset = int(query.get("pageToken") or 0)
        size = min(int(query.get("maxResults") or 100), self.page_size)
        body: dict[str, Any] = {"resultSizeEstimate": len(found)}
        if page := found[offset : offset + size]:
            body["messages"] = [{"id": m["id"], "threadId": m["threadId"]} for m in page]
        if offset + size < len(found):
            body["nextPageToken"] = str(offset + size)
        return JSONResponse(body)

    async def _get_message(self, request: Request) -> Response:
        if refused := self._refused(request, "messages.get"):
            return refused
        message_id = request.path_params["message_id"]
        if message_id not in self.messages or message_id in self.deleted:
            return _api_error(404, "Requested entity was not found.", "notFound", "NOT_FOUND")
        if request.query_params.get("format") != "full":
            return _api_error(400, "format", "invalidArgument", "INVALID_ARGUMENT")
        return JSONResponse(self.messages[message_id])

    async def _profile(self, request: Request) -> Response:
        if refused := self._refused(request, "profile"):
            return refused
        return JSONResponse(
            {
                "emailAddress": self.mailbox,
                "messagesTotal": len(self.messages),
                "threadsTotal": len(self.messages),
                "historyId": str(self.history_id),
            }
        )

    async def _watch(self, request: Request) -> Response:
        if refused := self._refused(request, "watch"):
            return refused
        self.watches.append(await request.json())
        expiration = self.clock.now() + self.watch_lifetime
        return JSONResponse(
            {
                "historyId": str(self.history_id),
                "expiration": str(int(expiration.timestamp() * 1000)),
            }
        )


def _payload(
    headers: Mapping[str, str], text: str | None, html: str | None, charset: str
) -> dict[str, Any]:
    """A `format=full` payload: multipart/alternative when both bodies are given."""
    listed = [{"name": name, "value": value} for name, value in headers.items()]

    def part(part_id: str, mime: str, content: str) -> dict[str, Any]:
        raw = content.encode(charset)
        return {
            "partId": part_id,
            "mimeType": mime,
            "filename": "",
            "headers": [{"name": "Content-Type", "value": f'{mime}; charset="{charset}"'}],
            "body": {"size": len(raw), "data": base64.urlsafe_b64encode(raw).decode()},
        }

    bodies = [
        part(str(n), mime, content)
        for n, (mime, content) in enumerate((("text/plain", text), ("text/html", html)))
        if content is not None
    ]
    if len(bodies) == 1:
        return {**bodies[0], "partId": "", "headers": listed + bodies[0]["headers"]}
    return {
        "partId": "",
        "mimeType": "multipart/alternative",
        "filename": "",
        "headers": listed,
        "body": {"size": 0},
        "parts": bodies,
    }


def _history_record(record: Record, message: Mapping[str, Any]) -> dict[str, Any]:
    summary = {"id": message["id"], "threadId": message["threadId"]}
    return {
        "id": str(record.history_id),
        "messages": [summary],
        "messagesAdded": [{"message": {**summary, "labelIds": message["labelIds"]}}],
    }


def _api_error(status: int, message: str, reason: str, code: str) -> JSONResponse:
    """An error as the Gmail API answers one."""
    return JSONResponse(
        {
            "error": {
                "code": status,
                "message": message,
                "errors": [{"message": message, "domain": "global", "reason": reason}],
                "status": code,
            }
        },
        status_code=status,
    )


def _oauth_error(error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=400)
