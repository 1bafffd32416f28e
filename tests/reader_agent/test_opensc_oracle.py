"""OpenSC, an independent JPKI client, reads and signs with the virtual card: the card behaves like a real one
(domain/jpki.md §3.6). Skipped outside CI when OpenSC is not installed; fails in CI."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import PIN, in_ci
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import Encoding

pytestmark = pytest.mark.pcsc
PKCS11 = Path("/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so")


@pytest.fixture
def opensc() -> None:
    if shutil.which("pkcs15-tool") is None or not PKCS11.exists():
        if in_ci():
            pytest.fail("CI=true but OpenSC (pkcs15-tool, opensc-pkcs11.so) is missing")
        pytest.skip("OpenSC is not installed (apt-get install opensc)")


def test_pkcs15_tool_reads_the_auth_certificate_and_tries(opensc, card_slot, card_set):
    card_slot.insert(tries=3)
    pem = subprocess.run(["pkcs15-tool", "--read-certificate", "01"], capture_output=True, timeout=30,
                         check=True).stdout
    expected = card_set.files["valid"].cert_der.read_bytes()
    assert x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER) == expected
    pins = subprocess.run(["pkcs15-tool", "--list-pins"], capture_output=True, text=True, timeout=30,
                          check=True).stdout
    assert "User Authentication PIN" in pins and "Tries left     : 3" in pins


def test_pkcs11_tool_signs_and_the_signature_verifies(opensc, card_slot, card_set, tmp_path):
    card_slot.insert()
    message, signature = tmp_path / "msg", tmp_path / "sig"
    message.write_bytes("精算 terminal challenge 42".encode())
    subprocess.run(["pkcs11-tool", "--module", str(PKCS11), "--slot-index", "0", "--login", "--pin", PIN,
                    "--sign", "--id", "01", "-m", "SHA256-RSA-PKCS", "-i", str(message), "-o", str(signature)],
                   capture_output=True, timeout=30, check=True)
    cert = x509.load_der_x509_certificate(card_set.files["valid"].cert_der.read_bytes())
    cert.public_key().verify(signature.read_bytes(), message.read_bytes(), padding.PKCS1v15(), hashes.SHA256())
    assert card_slot.tries_on_card() == 3
