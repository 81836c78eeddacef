"""Outbound webhooks on content changes: an outbox written with each change, a dispatcher that
delivers it (Standard Webhooks signatures, retries, a claim per delivery across instances), an SSRF
guard, and the service the admin API manages webhooks through."""
