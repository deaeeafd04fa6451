"""Program reports: figures across every domain, computed by aggregate queries.

Reports sit above every other domain: they read the tables of partners, programs, credentials,
tiers, licensing, approvals, webhooks and the events log, and never write.
"""
