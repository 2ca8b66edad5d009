"""User actions: each one a function that writes exactly one commit."""
