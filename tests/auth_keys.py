"""RSA keys and certificates made per test run, for the JWT bearer flow (nothing committed)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class AppKey:
    private_pkcs8: str
    private_pkcs1: str
    certificate: str
    key: rsa.RSAPrivateKey


@lru_cache(maxsize=4)
def app_key(name: str = "default") -> AppKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"forcelink tests {name}")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return AppKey(
        private_pkcs8=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        private_pkcs1=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ).decode(),
        certificate=cert.public_bytes(serialization.Encoding.PEM).decode(),
        key=key,
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def assertion(key: rsa.RSAPrivateKey, claims: dict[str, object]) -> str:
    """An RS256 JWT, signed here, for sending claims our client would never produce."""
    head = _b64(json.dumps({"alg": "RS256"}).encode()) + "." + _b64(json.dumps(claims).encode())
    signature = key.sign(head.encode(), padding.PKCS1v15(), hashes.SHA256())
    return head + "." + _b64(signature)
