"""Charter's license client: licensed software checks its license key with it.

from charter_client import LicenseClient
client = LicenseClient("https://partners.example.com", key, "PLAT", fingerprint=machine_id)
client.validate(feature="analytics").valid

See the package README for the whole example.
"""

from charter_client.client import Activation, LicenseClient, Result, default_cache_dir
from charter_client.errors import (
    LicenseError,
    Refused,
    SignatureRejected,
    TokenRejected,
    Unreachable,
)
from charter_client.jose import Claims, KeySet

__all__ = [
    "Activation",
    "Claims",
    "KeySet",
    "LicenseClient",
    "LicenseError",
    "Refused",
    "Result",
    "SignatureRejected",
    "TokenRejected",
    "Unreachable",
    "default_cache_dir",
]
