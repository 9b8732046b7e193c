"""The resident-facing survey: access codes, one page per section, submit without loss."""
