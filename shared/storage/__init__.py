"""PostgreSQL: the connection pool, each service's server, migrations, scratch databases."""
