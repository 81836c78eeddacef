"""Who may do what: scopes, the principal a credential resolves to, and scoped API tokens."""
