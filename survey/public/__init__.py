"""Public pages: home, privacy, language choice (and, later, published results)."""
