"""The demo program: Nimbus Cloud's partner program with three years of history, served locally.

``seeding.seed`` plans a realistic history (firms applying, onboarding and going live, staff
joining and moving, training, exams, labs, references, awards issued, renewed, expired,
suspended and revoked) and replays it in time order through the services, with the clock
frozen at each step, so every timestamp and event in the log is where it would have been. The
plan is drawn from fixed seeds: the same program every time, dated relative to today.

Six months ago the program introduced partner tiers (Authorized, Certified, Elite), judged on
certified people, required certifications, onboarding, good standing and the customer
satisfaction figures imported from quarterly surveys. The weekly sweep re-evaluates every firm,
so firms hold tiers and signed tier badges today, and a few are at risk within their grace.

Ten months ago the program started licensing three products (:mod:`.licensing_planner`):
most active firms signed agreements, a few hundred licenses were issued and deployed, the
connectors meter their use, and the last days bring grace periods, a deployment outside its
territory awaiting approval, and the anomalies the worker's rules raise alerts for.

The program's data is in :mod:`.catalogue` and :mod:`.people`; :mod:`.planner` draws the
history out of :mod:`.plan` records and :mod:`.steps` (:mod:`.licensing_steps` for
licensing); :mod:`.seeding` replays it and :mod:`.serving` is ``charter demo``.
"""
