"""The specs the fake serves and validates against (installed as `mockserver.resources`)."""
