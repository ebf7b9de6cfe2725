# SPDX-License-Identifier: Apache-2.0
"""The server side of SASL (POP3 AUTH, RFC 5034; SMTP AUTH, RFC 4954) and of a small SMTP
session, as ScriptedServer fallbacks (standard library only).

    sasl = SaslServer("me", "s3cret", protocol="smtp")
    mailer = SmtpMailer(ehlo=["AUTH " + " ".join(sasl.mechanisms)])
    ScriptedServer([], greeting="220 fake ESMTP", fallback=[sasl, mailer],
                   unexpected="502 5.5.2 unexpected")

SaslServer checks the credentials for real (PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-256 with the
server signature, XOAUTH2 and OAUTHBEARER with the password as the token), so a test that
looks for the password in the client's output also knows the client did send it.
.successes / .failures list the mechanisms, in order.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading

from scripted_server import Close, multiline, smtp_reply

MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256", "XOAUTH2", "OAUTHBEARER")


def b64(data: "bytes | str") -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def unb64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except ValueError:
        return None


class SaslServer:
    def __init__(self, user: str, password: str, *, protocol: str = "pop3",
                 mechanisms: tuple[str, ...] = MECHANISMS, iterations: int = 4096):
        if protocol not in ("pop3", "smtp"):
            raise ValueError(protocol)
        self.user, self.password, self.protocol = user, password, protocol
        self.mechanisms = tuple(m.upper() for m in mechanisms)
        self.iterations = iterations
        self.successes: list[str] = []
        self.failures: list[str] = []
        self._lock = threading.Lock()

    # ---- protocol wording
    def _challenge(self, data: bytes) -> str:
        return ("+ " if self.protocol == "pop3" else "334 ") + b64(data)

    def _ok(self) -> str:
        return "+OK logged in" if self.protocol == "pop3" else "235 2.7.0 Authentication successful"

    def _fail(self, why: str) -> str:
        return ("-ERR [AUTH] " if self.protocol == "pop3" else "535 5.7.8 ") + why

    def capa_line(self) -> str:
        return ("SASL " if self.protocol == "pop3" else "AUTH ") + " ".join(self.mechanisms)

    def session(self):
        return _SaslSession(self)


class _SaslSession:
    def __init__(self, server: SaslServer):
        self.s = server
        self.mech: str | None = None
        self.step = 0
        self.data: dict = {}

    @property
    def busy(self) -> bool:
        return self.mech is not None

    def _done(self, ok: bool, why: str = "authentication failed"):
        mech, self.mech, self.step, self.data = self.mech, None, 0, {}
        with self.s._lock:
            (self.s.successes if ok else self.s.failures).append(mech)
        return self.s._ok() if ok else self.s._fail(why)

    def __call__(self, line: str):
        s = self.s
        if self.mech is None:
            parts = line.split(" ")
            if parts[0].upper() != "AUTH" or len(parts) < 2:
                return None
            mech = parts[1].upper()
            if mech not in s.mechanisms:
                return s._fail("mechanism not offered") if s.protocol == "pop3" else \
                    "504 5.5.4 Unrecognized authentication type"
            self.mech, self.step = mech, 0
            initial = parts[2] if len(parts) > 2 else None
            if initial is None:
                if mech in ("LOGIN",):
                    self.step = 1
                    return s._challenge(b"Username:")
                if mech == "CRAM-MD5":
                    self.data["challenge"] = f"<{os.getpid()}.{os.urandom(4).hex()}@fake.example>".encode()
                    self.step = 1
                    return s._challenge(self.data["challenge"])
                self.step = 1
                return "+ " if s.protocol == "pop3" else "334 "
            return self._response(b"" if initial == "=" else unb64(initial))
        # a continuation line
        if line.strip() == "*":
            self.mech, self.step, self.data = None, 0, {}
            return s._fail("cancelled") if s.protocol == "pop3" else "501 5.7.0 Authentication aborted"
        data = unb64(line) if line.strip() else b""
        if data is None:
            return self._done(False, "invalid base64")
        return self._response(data)

    def _response(self, data: bytes | None):
        s, mech = self.s, self.mech
        if data is None:
            return self._done(False, "invalid base64")
        if mech == "PLAIN":
            parts = data.split(b"\0")
            ok = len(parts) == 3 and parts[1].decode(errors="replace") == s.user and \
                parts[2].decode(errors="replace") == s.password
            return self._done(ok)
        if mech == "LOGIN":
            if self.step in (0, 1) and "user" not in self.data:
                self.data["user"] = data.decode(errors="replace")
                self.step = 2
                return s._challenge(b"Password:")
            return self._done(self.data.get("user") == s.user and data.decode(errors="replace") == s.password)
        if mech == "CRAM-MD5":
            want = hmac.new(s.password.encode(), self.data.get("challenge", b""), hashlib.md5).hexdigest()
            return self._done(data.decode(errors="replace") == f"{s.user} {want}")
        if mech == "XOAUTH2":
            text = data.decode(errors="replace")
            ok = text == f"user={s.user}\x01auth=Bearer {s.password}\x01\x01"
            if not ok and "user" not in self.data:
                # RFC-less but common: an error document as a challenge, then an empty response
                self.data["user"] = "failed"
                return s._challenge(b'{"status":"401","schemes":"bearer","scope":"mail"}')
            return self._done(ok)
        if mech == "OAUTHBEARER":
            text = data.decode(errors="replace")
            fields = text.split("\x01")
            ok = fields[0].startswith("n,") and f"a={s.user}," in fields[0] + "," and \
                f"auth=Bearer {s.password}" in fields
            return self._done(ok)
        if mech == "SCRAM-SHA-256":
            return self._scram(data)
        return self._done(False, "mechanism not implemented")

    def _scram(self, data: bytes):
        s = self.s
        text = data.decode(errors="replace")
        if self.step in (0, 1) and "client_first_bare" not in self.data:
            # client-first-message: gs2-header client-first-message-bare
            try:
                gs2_cbind, authzid, bare = text.split(",", 2)
                attrs = dict(a.split("=", 1) for a in bare.split(","))
            except ValueError:
                return self._done(False, "malformed client-first-message")
            if gs2_cbind not in ("n", "y") or attrs.get("n") != s.user or "r" not in attrs:
                return self._done(False, "wrong user or nonce")
            salt = os.urandom(16)
            nonce = attrs["r"] + b64(os.urandom(12)).rstrip("=")
            server_first = f"r={nonce},s={b64(salt)},i={s.iterations}"
            self.data.update(client_first_bare=bare, server_first=server_first, nonce=nonce, salt=salt,
                             gs2=f"{gs2_cbind},{authzid},")
            self.step = 2
            return s._challenge(server_first.encode())
        if self.step == 2:
            try:
                without_proof, proof_attr = text.rsplit(",p=", 1)
                attrs = dict(a.split("=", 1) for a in without_proof.split(","))
            except ValueError:
                return self._done(False, "malformed client-final-message")
            if attrs.get("r") != self.data["nonce"] or \
                    unb64(attrs.get("c", "")) != self.data["gs2"].encode():
                return self._done(False, "nonce or channel binding mismatch")
            salted = hashlib.pbkdf2_hmac("sha256", s.password.encode(), self.data["salt"], s.iterations)
            client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
            stored_key = hashlib.sha256(client_key).digest()
            auth_message = ",".join((self.data["client_first_bare"], self.data["server_first"],
                                     without_proof)).encode()
            signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
            proof = unb64(proof_attr) or b""
            if bytes(a ^ b for a, b in zip(client_key, signature)) != proof or len(proof) != 32:
                return self._done(False, "wrong proof")
            server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
            server_sig = hmac.new(server_key, auth_message, hashlib.sha256).digest()
            self.step = 3
            return s._challenge(b"v=" + b64(server_sig).encode())
        # step 3: the (empty) answer to the server-final-message
        return self._done(True)


class SmtpMailer:
    """The rest of an SMTP session: EHLO (keywords as given), HELO, MAIL, RCPT (all accepted),
    DATA (the message collected raw, CRLF and dot-stuffed, into .data), RSET, NOOP, QUIT."""

    def __init__(self, ehlo: list[str] | None = None, final_reply: str = "250 2.0.0 Ok: queued as FAKE12345"):
        self.ehlo = ehlo if ehlo is not None else ["PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"]
        self.final_reply = final_reply
        self.data: list[bytes] = []
        self._lock = threading.Lock()

    def session(self):
        return _SmtpSession(self)


class _SmtpSession:
    def __init__(self, mailer: SmtpMailer):
        self.m = mailer
        self.in_data = False
        self.buf: list[bytes] = []

    @property
    def busy(self) -> bool:
        return self.in_data

    def __call__(self, line: str):
        if self.in_data:
            if line == ".":
                self.in_data = False
                with self.m._lock:
                    self.m.data.append(b"".join(self.buf))
                self.buf = []
                return self.m.final_reply
            self.buf.append(line.encode() + b"\r\n")
            return b""
        verb = line.split(" ", 1)[0].upper()
        if verb == "EHLO":
            return smtp_reply(250, "fake.example", *self.m.ehlo)
        if verb == "HELO":
            return "250 fake.example"
        if verb == "MAIL":
            return "250 2.1.0 Ok"
        if verb == "RCPT":
            return "250 2.1.5 Ok"
        if verb == "DATA":
            self.in_data = True
            return "354 End data with <CR><LF>.<CR><LF>"
        if verb in ("RSET", "NOOP"):
            return "250 2.0.0 Ok"
        if verb == "QUIT":
            return ["221 2.0.0 Bye", Close()]
        return None


__all__ = ["SaslServer", "SmtpMailer", "MECHANISMS", "b64", "unb64", "multiline"]
