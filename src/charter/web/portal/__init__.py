"""The portal's pages for program staff and partner users: partners, people, the account,
the program reports and taxonomy, certifications, awards and CSV imports, users and API keys,
webhooks, the events log, licensing (products, agreement templates, issuing and renewing
licenses) and approvals, a firm's own program and licensing, and its listing in the public
directory.

Every page calls the same services as the API: permissions and partner scope are theirs.
"""

from __future__ import annotations

from charter.deps import api_router
from charter.web.portal import (
    account,
    agreement_templates,
    apikeys,
    approvals,
    awards,
    certifications,
    events,
    firm_licensing,
    imports,
    license_forms,
    licensing,
    listing,
    partners,
    people,
    products,
    program,
    reports,
    taxonomy,
    users,
    webhooks,
)

router = api_router(include_in_schema=False)
router.include_router(account.router)
router.include_router(listing.router)
router.include_router(awards.router)
router.include_router(certifications.router)
router.include_router(imports.router)
router.include_router(partners.router)
router.include_router(people.router)
router.include_router(reports.router)
router.include_router(taxonomy.router)
router.include_router(users.router)
router.include_router(apikeys.router)
router.include_router(approvals.router)
router.include_router(events.router)
router.include_router(webhooks.router)
# Before the license pages and a firm's /licensing/{partner_id}: their paths would take these.
router.include_router(products.router)
router.include_router(agreement_templates.router)
router.include_router(license_forms.router)
router.include_router(licensing.router)
router.include_router(program.router)
router.include_router(firm_licensing.router)
