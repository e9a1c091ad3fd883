"""The HTTP layer: thin routers that parse, call one domain or storage function, and answer."""
