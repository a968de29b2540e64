"""geo sub-package."""
