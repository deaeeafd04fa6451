"""The portal's pages for program staff and partner users: partners, people, the account, the
firm's directory listing and the program reports.

Every page calls the same services as the API: permissions and partner scope are theirs.
"""

from __future__ import annotations

from charter.deps import api_router
from charter.web.portal import account, listing, partners, people, reports

router = api_router(include_in_schema=False)
router.include_router(account.router)
router.include_router(listing.router)
router.include_router(partners.router)
router.include_router(people.router)
router.include_router(reports.router)
