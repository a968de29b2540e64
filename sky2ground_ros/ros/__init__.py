"""ros sub-package."""
