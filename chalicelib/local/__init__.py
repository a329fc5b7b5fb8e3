"""The embedded runtime for `make run` and the tests: a moto server on loopback, the tables
built from the production definitions, demo data, and captured email and SMS."""
