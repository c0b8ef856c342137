"""The benches' own PostgreSQL databases: created on first use, never DATABASE_URL's."""

from __future__ import annotations

from urllib.parse import urlsplit


def database_create(url: str) -> bool:
    """CREATE DATABASE for `url` (postgres://user[:password]@host[:port]/name) unless it exists;
    returns whether it was created."""
    import psycopg2

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = psycopg2.connect(host=parts.hostname, port=parts.port or 5432, user=parts.username or "postgres",
                             password=parts.password, dbname="postgres")
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cur.fetchone() is not None:
                return False
            cur.execute(f'CREATE DATABASE "{name}"')
            return True
    finally:
        admin.close()
