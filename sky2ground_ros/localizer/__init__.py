"""localizer sub-package."""
