"""The job engine: one `JobQueue` protocol, backends for SQL (SQLite and PostgreSQL), Redis
Streams and memory, and the consumers that run jobs."""
