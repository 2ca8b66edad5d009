"""The guard: per-file rules, the commit verifier, trust, signing, hooks."""
