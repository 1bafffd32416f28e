"""seisan."""
