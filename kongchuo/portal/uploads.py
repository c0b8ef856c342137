"""What the browser's file picker offers for evidence files (photos of a home visit, a proof).

``image/*`` makes a phone offer its camera beside its gallery and files; PDF stays allowed for
scanned documents. The picker only suggests: each app still checks the real type from the
file's first bytes and refuses anything else with a clear message.
"""

PHOTO_OR_PDF_ACCEPT = "image/*,.pdf,application/pdf"
