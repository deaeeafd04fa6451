"""The default taxonomy's codes (``charter.partners.taxonomy_defaults``), named for tests: the
sample program's own names for them (``charter.demo.vocabulary``).

The test database starts with the default lists, as a migrated one does; tests that need
other entries add them through the taxonomy service.
"""

from __future__ import annotations

from charter.demo.vocabulary import PartnerType, Region, Track

__all__ = ["PartnerType", "Region", "Track"]
