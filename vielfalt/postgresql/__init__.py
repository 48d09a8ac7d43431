"""Django's PostgreSQL backend with prepared statements and a health check that costs no round trip (base)."""
