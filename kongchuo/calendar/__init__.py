"""The school year: terms, school years, school days (reads) and their audited writes. Imports
`kongchuo.access` only (docs/architecture.md)."""
