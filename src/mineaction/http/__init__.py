"""HTTP plumbing the API and the web share: dependencies (who is asking), the mapping of
errors to responses, conditional requests, common parameters."""
