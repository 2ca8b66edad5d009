"""The SQLite index derived from the desk's history."""
