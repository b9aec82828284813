"""A fake Microsoft Graph and Microsoft identity platform (login), as one ASGI app.

It answers what pigeon's msgraph provider calls, in the documented shapes:

- login: `GET /{tenant}/v2.0/.well-known/openid-configuration` (what msal reads first) and
  `POST /{tenant}/oauth2/v2.0/token` (the client-credentials grant: a bearer token, or
  AADSTS errors such as `invalid_client` for a wrong secret);
- Graph under `/v1.0`: `POST /subscriptions` (which, like Graph, first validates both
  notification URLs by POSTing `?validationToken=` to them and checking the plain-text echo),
  `PATCH` and `DELETE /subscriptions/{id}`, `GET /users/{user}/messages/{id}` (honouring
  `$select` and `Prefer: outlook.body-content-type`), and `GET /users/{user}/mailFolders/
  inbox/messages` with `$filter=receivedDateTime ge ...`, `$select`, `$top` and nextLink
  paging. Errors are Graph's `{"error": {"code", "message", "innerError"}}`.

Every request is recorded (`requests`), failures can be queued (`fail`), and tokens revoked
(`revoke_tokens`). msal accepts only an https authority, so the fake is served over TLS
(`serving_tls`) with a CA made for the test run (`make_certificates`); point `SSL_CERT_FILE`
at the CA and httpx trusts it.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import secrets
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from anyio import to_thread
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from pigeon.clock import Clock
from tests.fakes.server import serving

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
MAX_EXPIRATION = timedelta(minutes=10070)  # Graph's limit for Outlook messages
ERROR_CODES = {
    400: "BadRequest",
    403: "Authorization_RequestDenied",
    429: "TooManyRequests",
    500: "InternalServerError",
    503: "ServiceUnavailable",
}

# (url, query params) -> (status, content type, body): how the fake reaches pigeon's webhook.
Deliver = Callable[[str, dict[str, str]], tuple[int, str, str]]


# TLS --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificates:
    ca_file: Path  # what SSL_CERT_FILE names
    cert_file: Path
    key_file: Path


def make_certificates(directory: Path) -> Certificates:
    """A CA, and a certificate it signed for 127.0.0.1 and localhost."""
    now = datetime.now(UTC)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("pigeon test CA"))
        .issuer_name(name("pigeon test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    made = Certificates(
        directory / "ca.pem", directory / "server.pem", directory / "server-key.pem"
    )
    made.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    made.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    made.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return made


@contextmanager
def serving_tls(app: Any, certificates: Certificates) -> Iterator[str]:
    """`tests.fakes.server.serving`, over TLS: yield https://127.0.0.1:PORT."""
    with serving(
        app, ssl_certfile=str(certificates.cert_file), ssl_keyfile=str(certificates.key_file)
    ) as url:
        yield url


# The fake ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any  # the JSON or form body, decoded; None when empty


@dataclass
class Failure:
    method: str
    path: re.Pattern[str]
    status: int
    times: int
    headers: dict[str, str] = field(default_factory=dict)


def graph_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {
            "error": {
                "code": code,
                "message": message,
                "innerError": {
                    "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                    "request-id": str(uuid.uuid4()),
                    "client-request-id": str(uuid.uuid4()),
                },
            }
        },
        status_code=status,
    )


def graph_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")  # Graph's 7 digits


class FakeGraph:
    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        client_secret: str,
        clock: Clock,
        deliver: Deliver | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.clock = clock
        self.deliver = deliver  # None: notification URLs are not validated
        self.base_url = ""  # https://127.0.0.1:PORT, once served
        self.requests: list[Recorded] = []
        self.messages: dict[str, dict[str, dict[str, Any]]] = {}  # user -> id -> message
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.tokens: set[str] = set()
        self.failures: list[Failure] = []
        self.validations: list[tuple[str, int, str]] = []  # (url, status, body) of handshakes
        self._lock = threading.Lock()
        self.app = self._build()

    # What tests set up and inspect ------------------------------------------------------

    def add_message(
        self,
        user: str,
        *,
        subject: str = "Hello",
        text: str = "Hi there",
        sender: str = "ann@example.org",
        to: tuple[str, ...] = ("desk@contoso.com",),
        received_at: datetime | None = None,
    ) -> str:
        """Store a message in `user`'s inbox; returns its Graph id."""
        message_id = "AAMkAG" + base64.urlsafe_b64encode(secrets.token_bytes(33)).decode()
        received = received_at or self.clock.now()
        self.messages.setdefault(user, {})[message_id] = {
            "@odata.etag": f'W/"{secrets.token_hex(8)}"',
            "id": message_id,
            "createdDateTime": graph_time(received),
            "receivedDateTime": graph_time(received),
            "subject": subject,
            "internetMessageId": f"<{secrets.token_hex(6)}@example.org>",
            "conversationId": "AAQkAG" + secrets.token_hex(8),
            "isRead": False,
            "body": {"contentType": "html", "content": f"<html><body><p>{text}</p></body></html>"},
            "_text": text,
            "from": {"emailAddress": {"name": "Ann", "address": sender}},
            "sender": {"emailAddress": {"name": "Ann", "address": sender}},
            "toRecipients": [{"emailAddress": {"name": a, "address": a}} for a in to],
        }
        return message_id

    def delete_message(self, user: str, message_id: str) -> None:
        del self.messages[user][message_id]

    def fail(
        self,
        method: str,
        path: str,
        status: int,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next `times` requests whose path matches `path` (a regex) with
        `status` (Graph's error body)."""
        self.failures.append(Failure(method, re.compile(path), status, times, headers or {}))

    def revoke_tokens(self) -> None:
        """Every token issued so far is refused from now on (401)."""
        self.tokens.clear()

    def recorded(self, method: str, path: str) -> list[Recorded]:
        pattern = re.compile(path)
        return [r for r in self.requests if r.method == method and pattern.search(r.path)]

    def change_notification(
        self, subscription_id: str, user: str, message_id: str, client_state: str
    ) -> dict[str, Any]:
        """One change notification as Graph sends it for a new message."""
        subscription = self.subscriptions.get(subscription_id, {})
        return {
            "subscriptionId": subscription_id,
            "subscriptionExpirationDateTime": subscription.get(
                "expirationDateTime", graph_time(self.clock.now() + timedelta(days=3))
            ),
            "changeType": "created",
            "resource": f"Users/{user}/Messages/{message_id}",
            "resourceData": {
                "@odata.type": "#Microsoft.Graph.Message",
                "@odata.id": f"Users/{user}/Messages/{message_id}",
                "@odata.etag": 'W/"CQAAABYAAADkrWGo7bouTKlsgTZMr9KwAAAUWRHf"',
                "id": message_id,
            },
            "clientState": client_state,
            "tenantId": self.tenant_id,
        }

    def lifecycle_notification(
        self, subscription_id: str, event: str, client_state: str
    ) -> dict[str, Any]:
        """One lifecycle notification (`reauthorizationRequired`, `subscriptionRemoved`,
        `missed`) as Graph sends it: no resource, only the subscription."""
        subscription = self.subscriptions.get(subscription_id, {})
        return {
            "subscriptionId": subscription_id,
            "subscriptionExpirationDateTime": subscription.get(
                "expirationDateTime", graph_time(self.clock.now())
            ),
            "tenantId": self.tenant_id,
            "clientState": client_state,
            "lifecycleEvent": event,
        }

    def remove_subscription(self, subscription_id: str) -> None:
        """Graph removed it (a password reset, revoked consent): PATCH and DELETE now 404."""
        del self.subscriptions[subscription_id]

    # The app ----------------------------------------------------------------------------

    def _build(self) -> FastAPI:
        app = FastAPI()
        fake = self

        @app.middleware("http")
        async def one_request_per_connection(request: Request, call_next: Any) -> Any:
            # No idle keep-alive connection outlives a test: closing one over TLS waits for
            # the client, which a pooled client does not answer while idle.
            response = await call_next(request)
            response.headers["Connection"] = "close"
            return response

        async def intake(request: Request) -> Response | None:
            raw = await request.body()
            body: Any = None
            if raw:
                kind = request.headers.get("content-type", "")
                if kind.startswith("application/x-www-form-urlencoded"):
                    body = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
                else:
                    body = json.loads(raw)
            with fake._lock:
                fake.requests.append(
                    Recorded(
                        request.method,
                        request.url.path,
                        dict(request.query_params),
                        {k.lower(): v for k, v in request.headers.items()},
                        body,
                    )
                )
                for failure in fake.failures:
                    if (
                        failure.times > 0
                        and failure.method == request.method
                        and failure.path.search(request.url.path)
                    ):
                        failure.times -= 1
                        code = ERROR_CODES.get(failure.status, "generalException")
                        error = graph_error(failure.status, code, "injected by the test")
                        error.headers.update(failure.headers)
                        return error
            return None

        def authorized(request: Request) -> Response | None:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme != "Bearer" or token not in fake.tokens:
                return graph_error(
                    401, "InvalidAuthenticationToken", "Access token validation failure."
                )
            return None

        # The identity platform ----------------------------------------------------------

        @app.get("/{tenant}/v2.0/.well-known/openid-configuration")
        async def openid_configuration(tenant: str, request: Request) -> Response:
            if forced := await intake(request):
                return forced
            if tenant != fake.tenant_id:
                return JSONResponse(
                    {
                        "error": "invalid_tenant",
                        "error_description": f"AADSTS90002: Tenant '{tenant}' not found.",
                        "error_codes": [90002],
                    },
                    status_code=400,
                )
            base = str(request.base_url).rstrip("/") + f"/{tenant}"
            return JSONResponse(
                {
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "token_endpoint_auth_methods_supported": [
                        "client_secret_post",
                        "private_key_jwt",
                        "client_secret_basic",
                    ],
                    "jwks_uri": f"{base}/discovery/v2.0/keys",
                    "response_modes_supported": ["query", "fragment", "form_post"],
                    "subject_types_supported": ["pairwise"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "response_types_supported": [
                        "code",
                        "id_token",
                        "code id_token",
                        "id_token token",
                    ],
                    "scopes_supported": ["openid", "profile", "email", "offline_access"],
                    "issuer": f"{base}/v2.0",
                    "request_uri_parameter_supported": False,
                    "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                    "http_logout_supported": True,
                    "frontchannel_logout_supported": True,
                    "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
                    "claims_supported": ["sub", "iss", "aud", "exp", "iat", "tid"],
                    "kerberos_endpoint": f"{base}/kerberos",
                    "tenant_region_scope": "EU",
                    "cloud_instance_name": "microsoftonline.com",
                    "cloud_graph_host_name": "graph.windows.net",
                    "msgraph_host": "graph.microsoft.com",
                    "rbac_url": "https://pas.windows.net",
                }
            )

        @app.post("/{tenant}/oauth2/v2.0/token")
        async def token(tenant: str, request: Request) -> Response:
            if forced := await intake(request):
                return forced
            form = fake.requests[-1].body or {}
            if (
                tenant != fake.tenant_id
                or form.get("grant_type") != "client_credentials"
                or form.get("scope") != GRAPH_SCOPE
            ):
                return JSONResponse(
                    {
                        "error": "invalid_request",
                        "error_description": "AADSTS900144: The request body must contain "
                        "the following parameter: 'grant_type'.",
                        "error_codes": [900144],
                    },
                    status_code=400,
                )
            if form.get("client_id") != fake.client_id or not secrets.compare_digest(
                str(form.get("client_secret", "")), fake.client_secret
            ):
                return JSONResponse(
                    {
                        "error": "invalid_client",
                        "error_description": "AADSTS7000215: Invalid client secret provided. "
                        "Ensure the secret being sent in the request is the client secret "
                        "value, not the client secret ID.",
                        "error_codes": [7000215],
                        "error_uri": "https://login.microsoftonline.com/error?code=7000215",
                    },
                    status_code=401,
                )
            issued = "eyJ0eXAiOiJKV1QifQ." + secrets.token_urlsafe(24)
            fake.tokens.add(issued)
            return JSONResponse(
                {
                    "token_type": "Bearer",
                    "expires_in": 3599,
                    "ext_expires_in": 3599,
                    "access_token": issued,
                }
            )

        # Graph: subscriptions -----------------------------------------------------------

        @app.post("/v1.0/subscriptions")
        async def create_subscription(request: Request) -> Response:
            if forced := await intake(request) or authorized(request):
                return forced
            body = fake.requests[-1].body or {}
            problem = fake._subscription_problem(body)
            if problem:
                return graph_error(400, "InvalidRequest", problem)
            for url in (body["notificationUrl"], body.get("lifecycleNotificationUrl")):
                if url and not await to_thread.run_sync(fake._validate, url):
                    return graph_error(
                        400,
                        "InvalidRequest",
                        "Subscription validation request failed. Notification endpoint "
                        "must respond with 200 OK to validation request.",
                    )
            subscription = {
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions"
                "/$entity",
                "id": str(uuid.uuid4()),
                "resource": body["resource"],
                "applicationId": fake.client_id,
                "changeType": body["changeType"],
                "clientState": body.get("clientState"),
                "notificationUrl": body["notificationUrl"],
                "notificationQueryOptions": None,
                "lifecycleNotificationUrl": body.get("lifecycleNotificationUrl"),
                "expirationDateTime": graph_time(
                    datetime.fromisoformat(body["expirationDateTime"])
                ),
                "creatorId": str(uuid.uuid4()),
                "includeResourceData": None,
                "latestSupportedTlsVersion": "v1_2",
                "encryptionCertificate": None,
                "encryptionCertificateId": None,
                "notificationUrlAppId": None,
            }
            fake.subscriptions[subscription["id"]] = subscription
            return JSONResponse(subscription, status_code=201)

        @app.patch("/v1.0/subscriptions/{subscription_id}")
        async def update_subscription(subscription_id: str, request: Request) -> Response:
            if forced := await intake(request) or authorized(request):
                return forced
            subscription = fake.subscriptions.get(subscription_id)
            if subscription is None:
                return graph_error(404, "ResourceNotFound", "The object was not found.")
            body = fake.requests[-1].body or {}
            problem = fake._expiration_problem(body.get("expirationDateTime"))
            if problem:
                return graph_error(400, "InvalidRequest", problem)
            subscription["expirationDateTime"] = graph_time(
                datetime.fromisoformat(body["expirationDateTime"])
            )
            return JSONResponse(subscription)

        @app.delete("/v1.0/subscriptions/{subscription_id}")
        async def delete_subscription(subscription_id: str, request: Request) -> Response:
            if forced := await intake(request) or authorized(request):
                return forced
            if fake.subscriptions.pop(subscription_id, None) is None:
                return graph_error(404, "ResourceNotFound", "The object was not found.")
            return Response(status_code=204)

        # Graph: messages ----------------------------------------------------------------

        @app.get("/v1.0/users/{user}/messages/{message_id}")
        async def get_message(user: str, message_id: str, request: Request) -> Response:
            if forced := await intake(request) or authorized(request):
                return forced
            message = fake.messages.get(user, {}).get(message_id)
            if message is None:
                return graph_error(
                    404, "ErrorItemNotFound", "The specified object was not found in the store."
                )
            shown = fake._selected(message, request.query_params.get("$select"))
            if "body" in shown and 'outlook.body-content-type="text"' in request.headers.get(
                "prefer", ""
            ):
                shown["body"] = {"contentType": "text", "content": message["_text"]}
            context = f"https://graph.microsoft.com/v1.0/$metadata#users('{user}')/messages"
            return JSONResponse({"@odata.context": context + "/$entity", **shown})

        @app.get("/v1.0/users/{user}/mailFolders/{folder}/messages")
        async def list_messages(user: str, folder: str, request: Request) -> Response:
            if forced := await intake(request) or authorized(request):
                return forced
            if folder.lower() != "inbox":
                return graph_error(404, "ErrorItemNotFound", "The folder was not found.")
            query = request.query_params
            since = None
            if wanted := query.get("$filter"):
                found = re.fullmatch(r"receivedDateTime ge (\S+)", wanted)
                if found is None:
                    return graph_error(400, "BadRequest", "Invalid filter clause")
                since = datetime.fromisoformat(found[1])
            top, skip = int(query.get("$top", "10")), int(query.get("$skip", "0"))
            matching = sorted(
                (
                    m
                    for m in fake.messages.get(user, {}).values()
                    if since is None or datetime.fromisoformat(m["receivedDateTime"]) >= since
                ),
                key=lambda m: m["receivedDateTime"],
                reverse=True,
            )
            page = [fake._selected(m, query.get("$select")) for m in matching[skip : skip + top]]
            answer: dict[str, Any] = {
                "@odata.context": f"https://graph.microsoft.com/v1.0/$metadata#users('{user}')"
                "/mailFolders('inbox')/messages(id)",
                "value": page,
            }
            if skip + top < len(matching):
                params = {**dict(query), "$skip": str(skip + top)}
                answer["@odata.nextLink"] = f"{str(request.url).split('?')[0]}?{urlencode(params)}"
            return JSONResponse(answer)

        return app

    def _selected(self, message: dict[str, Any], select: str | None) -> dict[str, Any]:
        fields = {f.strip() for f in select.split(",")} if select else None
        return {
            k: v
            for k, v in message.items()
            if not k.startswith("_") and (fields is None or k in fields or k.startswith("@odata."))
        }

    def _subscription_problem(self, body: dict[str, Any]) -> str | None:
        for name in ("changeType", "notificationUrl", "resource", "expirationDateTime"):
            if not isinstance(body.get(name), str) or not body[name]:
                return f"Missing required property '{name}'."
        if not body["notificationUrl"].startswith("https://"):
            return "The notification endpoint must be an https URL."
        if len(body.get("clientState") or "") > 128:
            return "clientState must be at most 128 characters."
        return self._expiration_problem(body["expirationDateTime"])

    def _expiration_problem(self, value: Any) -> str | None:
        try:
            expiration = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            return "Invalid expirationDateTime."
        now = self.clock.now()
        if expiration <= now:
            return "Subscription expiration must be in the future."
        if expiration - now > MAX_EXPIRATION:
            return "Subscription expiration can only be 10070 minutes in the future."
        return None

    def _validate(self, url: str) -> bool:
        """Graph's notification URL validation: POST ?validationToken=..., expect 200,
        text/plain, the decoded token."""
        if self.deliver is None:
            return True
        token = f"Validation: Testing client application reachability {secrets.token_hex(8)}"
        status, content_type, text = self.deliver(url, {"validationToken": token})
        self.validations.append((url, status, text))
        return status == 200 and content_type.startswith("text/plain") and text == token
