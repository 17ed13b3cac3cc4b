"""API building blocks every app's API uses: the one error envelope, the exception handler,
strict fields, validated cursor pagination."""
