"""A throwaway certificate authority for TLS test peers: server and client certificates."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any


@dataclass
class ServerCertificate:
    """PEM files of a server certificate for 127.0.0.1/localhost, and its CA."""

    ca_pem: str
    cert_file: Path
    key_file: Path
    authority: CertificateAuthority = field(repr=False)


class CertificateAuthority:
    """A CA that signs certificates for tests."""

    def __init__(self, name: str = "keybroker test CA") -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        now = datetime.now(UTC)
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self._certificate = (
            x509.CertificateBuilder()
            .subject_name(self._name)
            .issuer_name(self._name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
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
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )
        self.ca_pem = self._certificate.public_bytes(serialization.Encoding.PEM).decode()

    def issue(self, common_name: str, *, server: bool) -> tuple[str, str]:
        """A certificate and its unencrypted key, both PEM, for a server or a client."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        now = datetime.now(UTC)
        key = ec.generate_private_key(ec.SECP256R1())
        builder: Any = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self._name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
                ),
                critical=False,
            ).add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
        else:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
            )
        certificate = builder.sign(self._key, hashes.SHA256())
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        return certificate.public_bytes(serialization.Encoding.PEM).decode(), key_pem


def issue_server_certificate(directory: Path) -> ServerCertificate:
    """Create a CA and a server certificate valid for 127.0.0.1 and localhost."""
    authority = CertificateAuthority()
    cert_pem, key_pem = authority.issue("127.0.0.1", server=True)
    directory.mkdir(parents=True, exist_ok=True)
    cert_file = directory / "server.pem"
    key_file = directory / "server.key"
    cert_file.write_text(cert_pem)
    key_file.write_text(key_pem)
    return ServerCertificate(authority.ca_pem, cert_file, key_file, authority)
