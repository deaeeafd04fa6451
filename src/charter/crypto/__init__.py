"""Signing keys, their Multikey encodings, DIDs, and private-key sealing at rest."""
