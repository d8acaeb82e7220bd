"""Request and response bodies of the API (`XCreate -> X -> XPublic`)."""
