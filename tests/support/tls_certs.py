# SPDX-License-Identifier: Apache-2.0
"""Certificates for TLS test scenarios, made with the openssl command under a directory of the
test's own (standard library + openssl only).

    certs = TestCerts(scratch / "certs")
    certs.ca                                  # the CA to give the client (--cacert)
    ctx = certs.server_context("expired")     # an ssl.SSLContext for ScriptedServer(tls_context=...)

Kinds (every one for the names localhost and 127.0.0.1 unless said otherwise):
    good         signed by the CA, valid now
    expired      signed by the CA, valid January 2020 only
    not_yet      signed by the CA, valid from 2090 on
    self_signed  a self-signed certificate (not signed by the CA)
    wrong_host   signed by the CA, for the name wrong-host.invalid only
    weak_key     signed by the CA, valid now, but an RSA key of 1024 bits
    sha1_sig     signed by the CA, valid now, RSA 2048, but the CA's signature on it is SHA-1
The CA's key is RSA 2048; every other signature is SHA-256. Keys and certificates are made on first
use and cached in the directory.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import ssl
import subprocess
from pathlib import Path

KINDS = ("good", "expired", "not_yet", "self_signed", "wrong_host", "weak_key", "sha1_sig")
LOCAL_SAN = "DNS:localhost,IP:127.0.0.1"


def openssl() -> str | None:
    return shutil.which("openssl")


def _stamp(t: dt.datetime) -> str:
    return t.strftime("%Y%m%d%H%M%SZ")


class TestCerts:
    __test__ = False  # not a pytest test class

    def __init__(self, directory: Path):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.bin = openssl()
        if not self.bin:
            raise RuntimeError("openssl is not installed")
        self._ca_done = False

    def _run(self, *args: str, san: str | None = None):
        env = dict(os.environ, MW_SAN=san or LOCAL_SAN)
        p = subprocess.run([self.bin, *args], capture_output=True, text=True, cwd=self.dir, env=env)
        if p.returncode != 0:
            raise RuntimeError(f"openssl {' '.join(args)} failed ({p.returncode}): {p.stderr.strip()}")
        return p.stdout

    # ---- the CA
    @property
    def ca(self) -> str:
        if not self._ca_done:
            if not (self.dir / "ca.pem").exists():
                self._run("req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "3650",
                          "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=scripted-server test CA",
                          "-addext", "basicConstraints=critical,CA:TRUE",
                          "-addext", "keyUsage=critical,keyCertSign,cRLSign")
                (self.dir / "index.txt").write_text("")
                (self.dir / "serial").write_text("1000\n")
                (self.dir / "ca.cnf").write_text(
                    "[ca]\ndefault_ca = ca_default\n"
                    "[ca_default]\n"
                    f"database = {self.dir}/index.txt\nnew_certs_dir = {self.dir}\nserial = {self.dir}/serial\n"
                    "default_md = sha256\npolicy = policy_any\nunique_subject = no\nemail_in_dn = no\n"
                    "[policy_any]\ncommonName = supplied\n"
                    "[leaf]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage = serverAuth\nsubjectAltName = ${ENV::MW_SAN}\n")
            self._ca_done = True
        return str(self.dir / "ca.pem")

    def _signed(self, name: str, bits: int, san: str, start: dt.datetime, end: dt.datetime,
                digest: str = "sha256"):
        self.ca
        key, csr, pem = self.dir / f"{name}.key", self.dir / f"{name}.csr", self.dir / f"{name}.pem"
        self._run("req", "-new", "-newkey", f"rsa:{bits}", "-nodes", "-keyout", str(key), "-out", str(csr),
                  "-subj", "/CN=" + san.split(",")[0].split(":", 1)[1])
        self._run("ca", "-batch", "-config", str(self.dir / "ca.cnf"), "-cert", str(self.dir / "ca.pem"),
                  "-keyfile", str(self.dir / "ca.key"), "-in", str(csr), "-out", str(pem), "-notext", "-md", digest,
                  "-extensions", "leaf", "-startdate", _stamp(start), "-enddate", _stamp(end), san=san)

    def pair(self, kind: str) -> tuple[str, str]:
        """(certificate file, key file) of a kind (see the module documentation)."""
        if kind not in KINDS:
            raise ValueError(f"unknown certificate kind {kind!r}; known: {KINDS}")
        pem, key = self.dir / f"{kind}.pem", self.dir / f"{kind}.key"
        if not pem.exists():
            now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
            day = dt.timedelta(days=1)
            if kind == "good":
                self._signed(kind, 2048, LOCAL_SAN, now - day, now + 30 * day)
            elif kind == "expired":
                self._signed(kind, 2048, LOCAL_SAN, dt.datetime(2020, 1, 1), dt.datetime(2020, 2, 1))
            elif kind == "not_yet":
                self._signed(kind, 2048, LOCAL_SAN, dt.datetime(2090, 1, 1), dt.datetime(2091, 1, 1))
            elif kind == "wrong_host":
                self._signed(kind, 2048, "DNS:wrong-host.invalid", now - day, now + 30 * day)
            elif kind == "weak_key":
                self._signed(kind, 1024, LOCAL_SAN, now - day, now + 30 * day)
            elif kind == "sha1_sig":
                self._signed(kind, 2048, LOCAL_SAN, now - day, now + 30 * day, digest="sha1")
            elif kind == "self_signed":
                self._run("req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "30",
                          "-keyout", str(key), "-out", str(pem), "-subj", "/CN=localhost",
                          "-addext", "subjectAltName=" + LOCAL_SAN, "-addext", "basicConstraints=critical,CA:FALSE",
                          "-addext", "extendedKeyUsage=serverAuth")
        return str(pem), str(key)

    def server_context(self, kind: str = "good") -> ssl.SSLContext:
        """A server-side context presenting the certificate of that kind. Security level 0, so
        that the server itself accepts to use the 1024-bit key and the SHA-1 signature (Python's
        default is level 2)."""
        cert, key = self.pair(kind)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.load_cert_chain(cert, key)
        return ctx

    def fingerprint(self, kind: str) -> str:
        """SHA-256 fingerprint, colon-separated upper-case hex (as openssl prints it)."""
        cert, _ = self.pair(kind)
        out = self._run("x509", "-noout", "-fingerprint", "-sha256", "-in", cert)
        return out.strip().split("=", 1)[1]
