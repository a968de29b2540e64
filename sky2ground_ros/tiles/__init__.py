"""tiles sub-package."""
