"""Admin: placeholder until this area lands."""
