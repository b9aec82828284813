"""A real Dovecot (Debian's dovecot-imapd) on a free loopback port, for the IMAP tests.

`running_dovecot()` writes a config into a temporary directory: plaintext IMAP on
127.0.0.1 (`ssl = no`, plaintext logins allowed on loopback), users in a passwd-file (each
test adds its own, so tests share one server without sharing mailboxes), Maildirs under the
directory, and no systemd: `dovecot -F -c <conf>` runs as a subprocess until the block
ends. `idle=False` takes IDLE out of the capabilities the server announces.

Without Dovecot installed the tests that use it skip, or fail when CI=true
(`tests.conftest.service_missing`): `apt-get install dovecot-imapd`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from imapclient import IMAPClient

from tests.conftest import service_missing

PASSWORD = "dovecot-test-password"
USERS = 1000
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
# The capabilities of a server without IDLE: Dovecot's own, less IDLE.
WITHOUT_IDLE = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE LITERAL+ UIDPLUS MOVE ESEARCH"


def dovecot_binary() -> str:
    found = shutil.which("dovecot", path=SEARCH_PATH)
    if found is None:
        service_missing(
            "Dovecot", FileNotFoundError("dovecot is not installed (apt-get install dovecot-imapd)")
        )
        raise AssertionError("unreachable")
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Dovecot:
    root: Path
    port: int
    idle: bool
    binary: str
    host: str = "127.0.0.1"
    password: str = PASSWORD
    process: subprocess.Popen[bytes] | None = None
    uid: int = field(default=0)
    gid: int = field(default=0)
    user_prefix: str = field(default_factory=lambda: f"u{uuid.uuid4().hex[:8]}-")
    users_taken: int = 0
    tls_port: int | None = None  # implicit TLS (imaps); the plain port then offers STARTTLS

    @property
    def ca_file(self) -> Path:
        """The self-signed certificate to trust (SSL_CERT_FILE) when `tls_port` is set."""
        return self.root / "cert.pem"

    @property
    def config(self) -> Path:
        return self.root / "dovecot.conf"

    # Users and mail -------------------------------------------------------------------------

    def add_user(self) -> str:
        """A user of its own, with an empty mailbox: the passwd-file lists USERS of them from
        the start (Dovecot notices a changed passwd-file by its mtime, in whole seconds: a
        user added within the second of the last change would be refused)."""
        self.users_taken += 1
        if self.users_taken > USERS:
            raise RuntimeError(f"more than {USERS} users of one Dovecot: raise USERS")
        return f"{self.user_prefix}{self.users_taken:04d}"

    def client(self, user: str) -> IMAPClient:
        client = IMAPClient(self.host, self.port, ssl=False, timeout=10)
        try:
            client.login(user, self.password)
        except BaseException:
            client.shutdown()
            raise
        return client

    @contextlib.contextmanager
    def session(self, user: str) -> Iterator[IMAPClient]:
        client = self.client(user)
        try:
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.logout()

    def append(self, user: str, message: bytes, mailbox: str = "INBOX") -> int:
        """APPEND `message`; returns its UID (UIDPLUS)."""
        with self.session(user) as client:
            if not client.folder_exists(mailbox):
                client.create_folder(mailbox)
            answer = client.append(mailbox, message)
        # b"[APPENDUID <uidvalidity> <uid>] Append completed."
        return int(answer.split(b"]")[0].split()[-1])

    def deliver(self, user: str, message: bytes) -> None:
        """Drop `message` into the user's INBOX Maildir the way a local delivery agent does
        (the server may be down); Dovecot gives it a UID when it next looks."""
        maildir = self.root / "home" / user / "Maildir"
        for part in ("tmp", "new", "cur"):
            (maildir / part).mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}.{uuid.uuid4().hex}.pigeon-test"
        partial = maildir / "tmp" / name
        partial.write_bytes(message)
        for path in (maildir.parent, maildir, *(maildir / p for p in ("tmp", "new", "cur"))):
            os.chown(path, self.uid, self.gid)
        os.chown(partial, self.uid, self.gid)
        partial.rename(maildir / "new" / name)

    def doveadm(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(
            [shutil.which("doveadm", path=SEARCH_PATH) or "doveadm", "-c", str(self.config), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"doveadm {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def kick(self, user: str) -> None:
        """Drop every connection of `user` (the server says BYE); none is no error."""
        self.doveadm("kick", user, check=False)

    def crash(self, user: str) -> None:
        """Kill the imap processes serving `user`: their connections end without a BYE,
        as when a server crashes or a connection is reset."""
        for line in self.doveadm("who", "-1").splitlines()[1:]:
            fields = line.split()
            if len(fields) >= 3 and fields[0] == user:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(fields[2]), signal.SIGKILL)

    def set_uid_validity(self, user: str, mailbox: str, value: int) -> None:
        self.doveadm("mailbox", "update", "--uid-validity", str(value), "-u", user, mailbox)

    # The server -----------------------------------------------------------------------------

    def start(self) -> None:
        log = (self.root / "stdout.log").open("ab")
        # A session of its own, so that stopping it stops every Dovecot process at once.
        self.process = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.config)],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 15
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited at start:\n{self.logs()}")
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), 1):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"dovecot did not listen on {self.port}:\n{self.logs()}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server and every process of it. (Stopping the master alone leaves an
        IDLE client's imap process serving it for seconds more.)"""
        if self.process is None:
            return
        group = self.process.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)  # whatever has not exited yet
        self.process = None

    def logs(self) -> str:
        parts = [p.read_text(errors="replace") for p in self.root.glob("*.log") if p.is_file()]
        return "\n".join(parts)[-4000:]

    def write_config(self) -> None:
        root = self.root
        (root / "run").mkdir(exist_ok=True)
        (root / "state").mkdir(exist_ok=True)
        (root / "home").mkdir(exist_ok=True)
        (root / "passwd").write_text(
            "".join(
                f"{self.user_prefix}{n:04d}:{{PLAIN}}{self.password}::::::\n"
                for n in range(1, USERS + 1)
            )
        )
        os.chown(root / "home", self.uid, self.gid)
        if os.getuid() == 0:
            accounts = ""
        else:  # a developer's own user runs every process
            me = pwd.getpwuid(os.getuid()).pw_name
            accounts = f"default_login_user = {me}\ndefault_internal_user = {me}\n"
        capabilities = "" if self.idle else f"imap_capability = {WITHOUT_IDLE}\n"
        if self.tls_port is None:
            tls = "ssl = no\n"
        else:
            _self_signed(self.ca_file, root / "key.pem")
            tls = f"ssl = yes\nssl_cert = <{self.ca_file}\nssl_key = <{root / 'key.pem'}\n"
        self.config.write_text(
            f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
instance_name = pigeon-test-{self.port}
{accounts}protocols = imap
listen = 127.0.0.1
{tls}disable_plaintext_auth = no
auth_mechanisms = plain login
# No delay and no penalty for the tests' wrong passwords: logins from 127.0.0.1 would wait.
auth_failure_delay = 0
mail_location = maildir:~/Maildir
first_valid_uid = 1
{capabilities}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={self.uid} gid={self.gid} home={root}/home/%u
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port or 0}
  }}
}}
"""
        )


def _self_signed(cert_path: Path, key_path: Path) -> None:
    """A certificate for 127.0.0.1 and localhost, signed by its own key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


@contextlib.contextmanager
def running_dovecot(*, idle: bool = True, tls: bool = False) -> Iterator[Dovecot]:
    """A Dovecot serving IMAP on 127.0.0.1 until the block ends; with `tls`, IMAPS on
    `tls_port` too, and STARTTLS on the plain port, with a self-signed certificate."""
    binary = dovecot_binary()
    # Not under pytest's tmp_path: its directories are private to root, and the mail
    # processes run as an unprivileged user (Dovecot refuses root's mail).
    root = Path(tempfile.mkdtemp(prefix="pigeon-dovecot-"))
    root.chmod(0o755)
    if os.getuid() == 0:
        nobody = pwd.getpwnam("nobody")
        uid, gid = nobody.pw_uid, nobody.pw_gid
    else:
        uid, gid = os.getuid(), os.getgid()
    server = Dovecot(root=root, port=_free_port(), idle=idle, binary=binary, uid=uid, gid=gid)
    server.tls_port = _free_port() if tls else None
    server.write_config()
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
