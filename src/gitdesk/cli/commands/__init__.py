"""One module per command family; each exports COMMANDS."""
