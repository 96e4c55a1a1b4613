"""PostgreSQL access: the pool, numbered SQL migrations, and repositories that own the SQL."""
