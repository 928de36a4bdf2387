"""viewserver package."""
