"""Cross-cutting pieces: clock, ids, errors, access control and the events log."""
