"""Provider fakes served over real HTTP on loopback, speaking the providers' documented
request and response formats."""
