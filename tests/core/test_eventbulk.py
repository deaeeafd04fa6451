"""Events made ahead (in worker processes) and chained later are the entries an append writes."""

from __future__ import annotations

import pickle

from charter.core import clock, eventbulk, events, eventverify
from charter.core.auth import Principal
from tests.core.factories import empty_log, sample_drafts, stored_log


def test_events_rendered_ahead_give_the_same_entries(db, frozen_clock, monkeypatch):
    # Bulk paths render events in worker processes and only chain them under the lock: the
    # entries must be those append_many writes, the general path included (float payloads),
    # and the renderer must survive pickling to a worker.
    counter = iter(range(10**6))
    monkeypatch.setattr(events, "new_id", lambda prefix: f"{prefix}_{next(counter):026d}")
    actor = Principal.system("tests")
    drafts = sample_drafts()
    events.append_many(db, actor, drafts)
    db.commit()
    expected = stored_log(db)
    empty_log(db)
    counter = iter(range(10**6))
    renderer = pickle.loads(pickle.dumps(events.Renderer.of(actor, clock.now())))
    rendered = [renderer.render(draft) for draft in drafts]
    assert sum(item.tail is None for item in rendered) == 6  # hashed the general way
    eventbulk.append_rendered(db, actor, renderer, rendered[:10])
    eventbulk.append_rendered(db, actor, renderer, rendered[10:])
    db.commit()
    assert stored_log(db) == expected
    assert eventverify.verify_chain(db).ok
