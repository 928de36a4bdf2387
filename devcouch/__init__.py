"""devcouch package."""
