"""RS256 JSON Web Tokens for the fake Google server: checking assertions, signing registry tokens.

Written with ``cryptography`` only, independently of google-auth, so that the
tests check what google-auth really sends.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any


def b64url(data: bytes) -> str:
    """Base64url without padding, as JWTs use it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def rsa_key() -> Any:
    """A fresh 2048-bit RSA private key."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: Any) -> str:
    """``key`` as an unencrypted PKCS#8 PEM, as Google's key files hold it."""
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def unverified_claims(token: str) -> dict[str, Any] | None:
    """The claims of a compact JWT, before any check; None when it is not one."""
    try:
        claims = json.loads(b64url_decode(token.split(".")[1]))
    except (ValueError, IndexError):
        return None
    return claims if isinstance(claims, dict) else None


def check_rs256(token: str, public_key: Any, key_id: str | None) -> str | None:
    """Why ``token`` is not signed by ``public_key`` (RS256, matching ``kid``), or None."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    try:
        header_b64, payload_b64, signature_b64 = token.split(".")
        header = json.loads(b64url_decode(header_b64))
        signature = b64url_decode(signature_b64)
    except ValueError:
        return "Invalid JWT: malformed"
    if header.get("alg") != "RS256":
        return "Invalid JWT: unsupported algorithm"
    try:
        public_key.verify(
            signature, f"{header_b64}.{payload_b64}".encode(), padding.PKCS1v15(), hashes.SHA256()
        )
    except InvalidSignature:
        return "Invalid JWT Signature."
    if header.get("kid") not in (None, key_id):
        return "Invalid JWT Signature."
    return None


def self_signed_identity(name: str) -> tuple[Any, bytes]:
    """An RSA key and a self-signed certificate (DER) naming ``name``, valid for a day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    key = rsa_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, certificate.public_bytes(serialization.Encoding.DER)


def sign_registry_token(
    key: Any, certificate_der: bytes, issuer: str, service: str, subject: str, scopes: list[str]
) -> str:
    """A docker registry bearer token granting ``scopes`` (``repository:NAME:ACTIONS``).

    Signed RS256 with the certificate in the ``x5c`` header, which the
    distribution registry checks against its ``rootcertbundle``.
    """
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    access = []
    for scope in scopes:
        kind, _, rest = scope.partition(":")
        name, _, actions = rest.rpartition(":")
        if kind == "repository" and name:
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
    now = int(time.time())
    header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(certificate_der).decode()]}
    claims = {
        "iss": issuer,
        "sub": subject,
        "aud": service,
        "exp": now + 300,
        "nbf": now - 30,
        "iat": now,
        "jti": secrets.token_hex(12),
        "access": access,
    }
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"
