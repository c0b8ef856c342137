"""Who may see what, and the record of what they did: scoping, the audit log, client IP, ID numbers,
bounded query numbers. Imports nothing else of kongchuo (docs/architecture.md)."""
