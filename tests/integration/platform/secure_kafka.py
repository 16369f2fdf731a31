"""A real Kafka broker that asks for TLS and SASL, as managed and operator-run clusters do: the
launcher's broker with one more listener, SASL_SSL, taking PLAIN and SCRAM-SHA-512, its
certificate signed by a CA the test makes; the plain listener stays for the test's own admin."""

import datetime
import ipaddress
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from devstack.config import StackConfig
from devstack.kafka import KafkaNode


@dataclass(frozen=True)
class Users:
    scram: tuple[str, str] = ("alumni-scram", "scram-password-for-the-test")
    plain: tuple[str, str] = ("alumni-plain", "plain-password-for-the-test")


def make_certificates(directory: Path) -> tuple[Path, Path]:
    """A CA (ca.pem) and a server's key and certificate for 127.0.0.1: together in server.pem
    (a Kafka PEM keystore), and apart in key.pem and cert.pem."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "alumni test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    ca_file, server_file = directory / "ca.pem", directory / "server.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pkcs8 = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    chain = certificate.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
    server_file.write_bytes(pkcs8 + chain)
    (directory / "key.pem").write_bytes(pkcs8)
    (directory / "cert.pem").write_bytes(chain)
    return ca_file, server_file


class SecureKafka(KafkaNode):
    def __init__(self, cfg: StackConfig, sasl_port: int, keystore: Path, ca: Path, users: Users) -> None:
        super().__init__(cfg)
        self.sasl_port = sasl_port
        self.keystore = keystore
        self.ca = ca
        self.users = users

    @property
    def secure_bootstrap(self) -> str:
        return f"127.0.0.1:{self.sasl_port}"

    def write_properties(self) -> None:
        super().write_properties()
        c, plain_user, plain_password = self.cfg, *self.users.plain
        lines = [
            line for line in self.properties.read_text().splitlines()
            if not line.startswith(("listeners=", "advertised.listeners=", "listener.security.protocol.map="))
        ]
        lines += [
            f"listeners=PLAINTEXT://127.0.0.1:{c.kafka_port},CONTROLLER://127.0.0.1:{c.kafka_controller_port},SASL_SSL://127.0.0.1:{self.sasl_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{c.kafka_port},CONTROLLER://127.0.0.1:{c.kafka_controller_port},SASL_SSL://127.0.0.1:{self.sasl_port}",
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL",
            "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-512",
            "listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required "
            f'user_{plain_user}="{plain_password}";',
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;",
            "ssl.keystore.type=PEM",
            f"ssl.keystore.location={self.keystore}",
            "",
        ]
        self.properties.write_text("\n".join(lines))

    def format_storage(self, java: str, libs: Path) -> None:
        # SCRAM credentials live in the cluster's metadata: written when the storage is formatted.
        user, password = self.users.scram
        if (self.data / "meta.properties").exists():
            return
        result = subprocess.run(
            [java, *self._jvm_flags(libs, heap="256m"), "kafka.tools.StorageTool", "format", "-t", "sESjMR3QS0ezu9AuP1wJiQ",
             "-c", str(self.properties), "--standalone", "--add-scram", f"SCRAM-SHA-512=[name={user},password={password}]"],
            capture_output=True, text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr
