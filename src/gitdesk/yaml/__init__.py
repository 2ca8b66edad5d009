"""The YAML codecs: round-trip (ruamel), the fast reader, the bulk emitter."""
