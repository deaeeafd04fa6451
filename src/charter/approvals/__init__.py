"""Approval requests: exceptions routed to their type's governance owners, applied when approved."""
