"""The desk's rules as plain data and functions: no I/O, no git, no YAML codec."""
