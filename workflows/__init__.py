"""The CLI and the pipelines that wire the parts together; no algorithm lives here."""
