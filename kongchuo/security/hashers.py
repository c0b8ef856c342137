"""Argon2id with OWASP's recommended cost (m=19 MiB, t=2, p=1) instead of Django's default.

Django's Argon2PasswordHasher uses m=100 MiB with 8 lanes: a second's order of CPU per login on
the county's 2-core server (docs/performance.md), so staff logging in together at 8 o'clock queue
and a password guesser gets a cheap CPU-exhaustion lever. OWASP's Password Storage Cheat Sheet lists m=19 MiB,
t=2, p=1 as the baseline for argon2id. Same algorithm name: stored hashes with the old parameters
still verify and are rewritten with these at the user's next login (must_update).
"""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idHasher(Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
