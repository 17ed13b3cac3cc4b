"""Platform infrastructure every app may use and that uses no business app (issue #11 moves the
rest of it here from `marketplace`)."""
